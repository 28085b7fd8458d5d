"""Outputs are written whole or not at all.

A run is written into a hidden temporary sibling folder, which is then
renamed into place: an interrupted or failed run leaves no partial result.
An existing run folder is replaced only when asked, and then atomically: on
Linux the new folder and the old one swap places in one ``renameat2``
exchange (so the target always holds one complete run, even with two
``--force`` runs at once), elsewhere a lock serialises a rename pair that is
undone if its second half fails.  Single files (reports) are written to a
hidden partial file and renamed.  A partial folder left by a killed process
is removed by the next run in the same parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scsim.scenario.load import LoadedScenario
    from scsim.scenario.pairing import Counterfactual

RUNS = Path("runs")
SLUG_LENGTH = 40
RUN_MARKER = "summary.json"
"""A folder holding this file is a run folder, which --force may replace."""
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>\d+)-[0-9a-f]{8}$")


class RunDirExists(Exception):
    """The output folder exists and overwriting was not asked for (or is not allowed)."""


class OutputError(Exception):
    """An output that cannot be written; the message names the place and the reason."""


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


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """Write one file whole or not at all: ``write`` fills a hidden partial file, which is
    then renamed to ``target``; on failure nothing is left."""
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; give a file name")
    make_folder(target.parent)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        write(partial)
        os.replace(partial, target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {_reason(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def write_text_atomically(target: Path, text: str) -> None:
    _write_atomically(target, lambda path: path.write_text(text, encoding="utf-8"))


def write_parquet_atomically(table, target: Path) -> None:
    import pyarrow.parquet as pq

    _write_atomically(target, lambda path: pq.write_table(table, path, compression="zstd"))


def claim_folder(out: Path, manifest: str, kind: str, *, resume: bool, force: bool
                 ) -> dict | None:
    """Make ``out`` an experiment folder marked by the file ``manifest``: refuse what exists
    unless resuming or forcing, never take over a folder of something else, start afresh with
    ``force``. Returns the stored manifest when resuming one, else None."""
    import json

    marker = out / manifest
    if out.exists() and not (resume or force):
        raise OutputError(f"{out}: already exists; use --resume to continue it, --force to "
                          "start it again, or choose --out")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not marker.is_file())):
        raise OutputError(f"{out}: exists and is not a scsim {kind} (no {manifest}); choose "
                          "another --out")
    if force and out.exists():
        shutil.rmtree(out)
    stored = None
    if resume and marker.is_file():
        try:
            stored = json.loads(marker.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise OutputError(f"{marker}: unreadable ({exc}); use --force to start again") \
                from None
        if not isinstance(stored, dict):
            raise OutputError(f"{marker}: corrupt; use --force to start again")
    make_folder(out)
    return stored


@contextlib.contextmanager
def files_into_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success each file in it is moved into ``target`` (created
    if needed, other files there kept); on failure nothing is moved and nothing is left."""
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: is a file; give a folder")
    make_folder(target)
    tmp = target / f".figures.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        yield tmp
        for path in sorted(tmp.iterdir()):
            os.replace(path, target / path.name)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {_reason(exc)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
