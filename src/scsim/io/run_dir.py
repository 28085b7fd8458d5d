"""Outputs are written whole or not at all.

A run is written into a hidden temporary sibling folder, which is then
renamed into place: an interrupted or failed run leaves no partial result.
An existing run folder is replaced only when asked, and then atomically: on
Linux the new folder and the old one swap places in one ``renameat2``
exchange (so the target always holds one complete run, even with two
``--force`` runs at once), elsewhere a lock serialises a rename pair that is
undone if its second half fails.  Single files (reports, figures, query
results) are written to a hidden partial file and renamed, only ever over a
regular file and only when asked (a terminal, /dev/null or a pipe with a
reader is written in place; a run folder's own files are never a target).
A partial folder left by a killed process is removed by the next run in the
same parent.  An experiment folder is held by one process for its whole life
(a flock on its lock file, ``experiment_folder``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shlex
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from scsim.errors import ScsimError

if TYPE_CHECKING:
    from scsim.scenario.load import LoadedScenario
    from scsim.scenario.pairing import Counterfactual

RUNS = Path("runs")
SLUG_LENGTH = 40
RUN_MARKER = "summary.json"
"""A folder holding this file is a run folder, which --force may replace."""
EFFECTIVE_SCENARIO = "scenario.toml"
"""The effective scenario of a run (TOML), which reproduces it."""
EFFECTIVE_COUNTERFACTUAL = "counterfactual.toml"
"""The effective counterfactual of a run paired with another scenario file."""
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)-[0-9a-f]{8}$")


class OutputError(ScsimError):
    """An output that cannot be written; the message names the place and the reason."""


class RunDirExists(OutputError):
    """The output folder exists and overwriting was not asked for (or is not allowed)."""


def slug(name: str) -> str:
    """A safe folder name: lowercase letters, digits and single dashes, never empty or a path."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:SLUG_LENGTH].strip("-")
    return text or "scenario"


def default_run_folder(loaded: LoadedScenario, pairing: Counterfactual | None = None) -> Path:
    """``runs/SLUG-seedSEED-HASH``: HASH names the effective scenario (after --population,
    --days and --set) and its counterfactual, so different runs never share a folder."""
    s = loaded.scenario
    identity = loaded.sha256 + ("" if pairing is None else f"|{pairing.label}|{pairing.sha256}")
    short = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return RUNS / f"{slug(s.name)}-seed{s.run.seed}-{short}"


def reproduce_command(summary: dict, run_folder: Path, out: Path | None = None) -> str:
    """The shell command (every argument quoted) that runs the stored effective scenario again
    into ``out`` (default: beside the run folder)."""

    def path(p: Path) -> str:  # never read as an option
        text = str(p)
        return f"./{text}" if text.startswith("-") else text

    counterfactual = summary.get("counterfactual")
    words = ["scsim", "run", path(run_folder / EFFECTIVE_SCENARIO),
             "--population", str(summary["population"])]
    if counterfactual is not None:
        words += ["--counterfactual", "none" if counterfactual["label"] == "none"
                  else path(run_folder / EFFECTIVE_COUNTERFACTUAL)]
    words += ["--out", path(out or run_folder.with_name(run_folder.name + "-again"))]
    return " ".join(shlex.quote(w) for w in words)


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def make_folder(folder: Path) -> None:
    """Create ``folder`` and its parents, or say in one line why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents)
                        if p.exists() and not p.is_dir()), None)
        reason = (f"{blocker} is a file, not a folder" if blocker is not None
                  else _reason(exc))
        raise OutputError(f"{folder}: cannot create the folder: {reason}") from None


def check_target(out: Path, force: bool) -> None:
    """Refuse an existing ``out`` unless forced, and never replace what is not a run folder."""
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise RunDirExists(f"{out}: already exists; use --force to replace it, or choose --out")
    if out.is_symlink() or not out.is_dir():
        raise RunDirExists(f"{out}: exists and is not a folder; --force replaces only a run "
                           "folder")
    if not (out / RUN_MARKER).is_file() and any(out.iterdir()):
        raise RunDirExists(f"{out}: is a folder but not a scsim run folder (no {RUN_MARKER}); "
                           "--force replaces only a run folder or an empty folder")


def _process_alive(pid: int) -> bool:
    """Whether a process with this id runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust the signal test
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def clean_stale_partials(parent: Path) -> list[Path]:
    """Remove partial folders in ``parent`` whose writing process no longer exists."""
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _PARTIAL.match(entry.name)
        if match and entry.is_dir() and not _process_alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                removed.append(entry)
    return removed


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); OSError if unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


@contextlib.contextmanager
def _lock(parent: Path) -> Iterator[None]:
    """An exclusive lock on the parent folder itself (so no lock file is left behind)."""
    import fcntl

    fd = os.open(parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _replace_with_lock(tmp: Path, out: Path) -> None:
    """Where there is no atomic exchange: rename the old run aside, the new one in, undo on
    failure; the lock keeps concurrent replacements from interleaving."""
    with _lock(out.parent):
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)


def install(tmp: Path, out: Path, force: bool) -> None:
    """Move the complete folder ``tmp`` to ``out``, replacing a run folder there if forced."""
    try:
        os.rename(tmp, out)  # atomic; fails if out is a non-empty folder or a file
        return
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise
    check_target(out, force)  # it appeared meanwhile, or is being replaced
    try:
        _exchange(tmp, out)
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise
        _replace_with_lock(tmp, out)
        return
    shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old run


@contextlib.contextmanager
def atomic_run_dir(out: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes ``out``."""
    check_target(out, force)
    make_folder(out.parent)
    clean_stale_partials(out.parent)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"{out.parent}: cannot write here: {_reason(exc)}") from None
    try:
        try:
            yield tmp
            install(tmp, out, force)
        except OSError as exc:
            raise OutputError(f"{out}: cannot write the run folder: {_reason(exc)}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


RUN_FILES = ("summary.json", "ledger.json", "daily.parquet", "score_histogram.parquet",
             "grade_transitions.parquet", "run.parquet", "ledger.parquet", "stories.json",
             EFFECTIVE_SCENARIO, EFFECTIVE_COUNTERFACTUAL)
"""The files of a run folder that hold the run itself (never an output of another command)."""


def _direct_target(target: Path, info: os.stat_result) -> bool:
    """Whether ``target`` is something written in place rather than replaced (a terminal,
    /dev/null, a pipe with a reader); refuses what can be neither."""
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise OutputError(f"{target}: is a folder; give a file name")
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return True
    if not stat.S_ISREG(mode):
        raise OutputError(f"{target}: is not a regular file (a socket or a device); scsim "
                          "writes only regular files, a terminal or a pipe")
    return False


def _write_in_place(target: Path, write: Callable[[Path], object]) -> None:
    """Write to a terminal, /dev/null or a pipe: a pipe must have a reader (else writing would
    wait forever)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        reason = ("a pipe with no reader" if exc.errno == errno.ENXIO else _reason(exc))
        raise OutputError(f"{target}: cannot write: {reason}") from None
    try:
        os.set_blocking(fd, True)
        write(Path(f"/dev/fd/{fd}"))
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {_reason(exc)}") from None
    finally:
        os.close(fd)


def check_output_file(target: Path, replace: bool) -> bool:
    """Whether ``target`` is written in place (a terminal, /dev/null, a pipe); refuses a
    folder, a socket or a device, a file of a run folder, and an existing file unless
    ``replace``."""
    try:
        info = target.stat()
    except (FileNotFoundError, NotADirectoryError):  # (make_folder says what is in the way)
        info = None
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {_reason(exc)}") from None
    if target.is_symlink() and info is None:
        raise OutputError(f"{target}: is a broken symbolic link; remove it or choose another "
                          "name")
    if info is not None and _direct_target(target, info):
        return True
    if target.name in RUN_FILES and (target.parent / RUN_MARKER).is_file():
        raise OutputError(f"{target}: is a file of the run folder {target.parent}; choose "
                          "another name")
    if info is not None and not replace:
        raise OutputError(f"{target}: already exists; use --force to replace it, or choose "
                          "another name")
    return False


def _write_atomically(target: Path, write: Callable[[Path], object], replace: bool) -> None:
    """Write one file whole or not at all: ``write`` fills a hidden partial file, which is
    then renamed to ``target`` (only ever over a regular file, and only if ``replace``); a
    terminal, /dev/null or a pipe is written in place; on failure nothing is left."""
    if check_output_file(target, replace):
        _write_in_place(target, write)
        return
    make_folder(target.parent)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        write(partial)
        check_output_file(target, replace)  # nothing took its place meanwhile
        os.replace(partial, target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {_reason(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def write_atomically(target: Path, write: Callable[[Path], object], *,
                     replace: bool = False) -> None:
    """``write(path)`` fills ``target``, whole or not at all (see write_text_atomically)."""
    _write_atomically(target, write, replace)


def write_text_atomically(target: Path, text: str, *, replace: bool = False) -> None:
    """``text`` into ``target``, whole or not at all; an existing file only if ``replace``."""
    _write_atomically(target, lambda path: path.write_text(text, encoding="utf-8"), replace)


def write_parquet_atomically(table, target: Path, *, replace: bool = False) -> None:
    """``table`` as Parquet into ``target``, whole or not at all (see write_text_atomically)."""
    import pyarrow.parquet as pq

    _write_atomically(target, lambda path: pq.write_table(table, path, compression="zstd"),
                      replace)


LOCK_FILE = ".scsim.lock"
"""Held (flock) by the process running an experiment in the folder, for its whole life."""


class FolderBusy(OutputError):
    """Another scsim process is working in the folder."""


@contextlib.contextmanager
def locked_folder(out: Path, kind: str) -> Iterator[None]:
    """Hold the lock of the experiment folder ``out`` (which exists) while the block runs;
    refuse at once if another process holds it. The lock is the kernel's (flock), so it
    ends with its process, even one killed with SIGKILL."""
    import fcntl

    lock = out / LOCK_FILE
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise OutputError(f"{out}: cannot lock the {kind} folder: {_reason(exc)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            raise FolderBusy(f"{out}: another scsim process{f' (pid {holder})' if holder else ''}"
                             f" is running this {kind}; wait for it to end, or choose another "
                             "--out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _is_experiment_folder(out: Path, manifest: str) -> bool:
    """Empty (but for a lock), or holding the experiment's manifest."""
    return (out / manifest).is_file() or all(p.name == LOCK_FILE for p in out.iterdir())


def _empty_folder(out: Path) -> None:
    """Remove everything in ``out`` but its lock (which the caller holds)."""
    for entry in out.iterdir():
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@contextlib.contextmanager
def experiment_folder(out: Path, manifest: str, kind: str, *, resume: bool, force: bool,
                      read_manifest: Callable[[Path], dict] | None = None
                      ) -> Iterator[dict | None]:
    """Claim ``out`` for an experiment marked by the file ``manifest`` and hold its lock
    until the block ends: refuse what exists unless resuming or forcing, never take over a
    folder of something else, and refuse (even with --force) while another process runs an
    experiment there. With ``force`` the folder is emptied once the lock is held. Yields the
    stored manifest when resuming one (read by ``read_manifest``), else None."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"{out}: exists and is not a folder; choose another --out")
    if out.exists() and not (resume or force):
        raise OutputError(f"{out}: already exists; use --resume to continue it, --force to "
                          "start it again, or choose --out")
    if out.exists() and not _is_experiment_folder(out, manifest):
        raise OutputError(f"{out}: exists and is not a scsim {kind} (no {manifest}); choose "
                          "another --out")
    created = not out.exists()
    make_folder(out)
    with locked_folder(out, kind):
        try:
            stored = None
            try:
                if force:
                    _empty_folder(out)
                elif resume and (out / manifest).is_file():
                    stored = read_manifest(out / manifest) if read_manifest else None
            except OSError as exc:
                raise OutputError(f"{out}: cannot prepare the {kind} folder: "
                                  f"{_reason(exc)}") from None
            yield stored
        finally:
            # a folder made here that nothing was written into (the cluster was unreachable,
            # say) is removed again: a failed start leaves nothing behind
            if created and _is_experiment_folder(out, manifest) and not (out / manifest).exists():
                with contextlib.suppress(OSError):
                    (out / LOCK_FILE).unlink()
                    out.rmdir()


@contextlib.contextmanager
def files_into_folder(target: Path, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success each file in it is moved into ``target`` (created
    if needed, other files there kept; one of the same name only if ``replace``); on failure,
    or if any file would land on something that is not a regular file, nothing is moved and
    nothing is left."""
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: is a file; give a folder")
    make_folder(target)
    tmp = target / f".figures.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        yield tmp
        made = sorted(tmp.iterdir())
        for path in made:
            if check_output_file(target / path.name, replace):
                raise OutputError(f"{target / path.name}: is not a regular file; choose "
                                  "another folder")
        for path in made:
            os.replace(path, target / path.name)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {_reason(exc)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
