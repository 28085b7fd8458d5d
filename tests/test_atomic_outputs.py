"""Outputs are whole or absent: bad places, injected failures, --force races, signals.

Failures the machine cannot be made to produce on demand (a full disk, a
read-only folder when tests run as root) are injected where the operating
system would report them, with the errno it would give.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import scsim.io.run_dir as run_dir
import scsim.runner
from scsim.cli import app

from conftest import R0

SMALL = ["--population", "300", "--days", "5", "--quiet"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_one_line(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.output


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def stored(tmp_path) -> Path:
    out = tmp_path / "run"
    assert invoke("run", str(R0), "--out", str(out), *SMALL).exit_code == 0
    return out


def test_report_and_compare_into_a_folder_and_plot_into_a_file(tmp_path, stored):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    assert_one_line(invoke("report", str(stored), "--out", str(folder)), "is a folder")
    assert_one_line(invoke("compare", str(stored), str(stored), "--html", str(folder)),
                    "is a folder")
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    assert_one_line(invoke("plot", str(stored), "--out", str(a_file)), "is a file")
    assert a_file.read_text() == "mine"
    assert_one_line(invoke("report", str(stored), "--out", str(a_file / "r.html")),
                    "cannot create the folder")
    assert leftovers(tmp_path) == [] and leftovers(stored) == []


def test_run_out_inside_a_file(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    assert_one_line(invoke("run", str(R0), "--out", str(a_file / "run"), *SMALL),
                    "a_file is a file, not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_full_disk_while_writing_a_run(tmp_path, monkeypatch):
    def full(table, path):
        Path(path).write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(scsim.runner, "write_parquet", full)
    assert_one_line(invoke("run", str(R0), "--out", str(tmp_path / "run"), *SMALL),
                    "cannot write the run folder: No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_read_only_folder(tmp_path, monkeypatch):
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self.parent == tmp_path and self.name.startswith("."):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert_one_line(invoke("run", str(R0), "--out", str(tmp_path / "run"), *SMALL),
                    "cannot write here: Permission denied")
    assert list(tmp_path.iterdir()) == []


def test_full_disk_while_writing_a_report_or_figures(tmp_path, stored, monkeypatch):
    real_write = Path.write_text

    def full(self, *args, **kwargs):
        if ".partial-" in self.name:
            real_write(self, "half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    assert_one_line(invoke("report", str(stored)), "No space left on device")
    assert not (stored / "report.html").exists() and leftovers(stored) == []
    monkeypatch.undo()

    import scsim.plots

    def broken_save(fig, stem):
        stem.with_suffix(".png").write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(scsim.plots, "save", broken_save)
    assert_one_line(invoke("plot", str(stored)), "No space left on device")
    assert list((stored / "figures").iterdir()) == []


# --- --force --------------------------------------------------------------------


def test_force_refuses_what_is_not_a_run_folder(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    assert_one_line(invoke("run", str(R0), "--out", str(a_file), "--force", *SMALL),
                    "is not a folder; --force replaces only a run folder")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    assert_one_line(invoke("run", str(R0), "--out", str(mine), "--force", *SMALL),
                    "not a scsim run folder")
    assert (mine / "thesis.tex").read_text() == "years of work" and a_file.read_text() == "mine"
    assert leftovers(tmp_path) == []


def _days(out: Path) -> int:
    return pq.read_table(out / "daily.parquet").num_rows // 2


@pytest.mark.parametrize("failure", [errno.EIO, errno.EXDEV])
def test_failed_exchange_keeps_the_old_run(stored, monkeypatch, failure):
    def broken(a, b):
        raise OSError(failure, os.strerror(failure))

    monkeypatch.setattr(run_dir, "_exchange", broken)
    result = invoke("run", str(R0), "--out", str(stored), "--force", "--population", "300",
                    "--days", "9", "--quiet")
    assert_one_line(result, os.strerror(failure))
    assert _days(stored) == 5 and leftovers(stored.parent) == []


def test_without_an_exchange_the_locked_rename_replaces(stored, monkeypatch):
    def unsupported(a, b):
        raise OSError(errno.ENOSYS, "renameat2 is not available")

    monkeypatch.setattr(run_dir, "_exchange", unsupported)
    result = invoke("run", str(R0), "--out", str(stored), "--force", "--population", "300",
                    "--days", "9", "--quiet")
    assert result.exit_code == 0, result.output
    assert _days(stored) == 9 and leftovers(stored.parent) == []


def test_locked_rename_undoes_a_failed_second_rename(stored, monkeypatch):
    def unsupported(a, b):
        raise OSError(errno.ENOSYS, "renameat2 is not available")

    real_rename = os.rename
    calls = []

    def second_fails(src, dst):
        calls.append((src, dst))
        if len(calls) == 3:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_rename(src, dst)

    # renames: install()'s plain attempt (refused: the target exists), the old run aside,
    # the new one in (fails here), the old one back
    monkeypatch.setattr(run_dir, "_exchange", unsupported)
    monkeypatch.setattr(run_dir.os, "rename", second_fails)
    result = invoke("run", str(R0), "--out", str(stored), "--force", "--population", "300",
                    "--days", "9", "--quiet")
    monkeypatch.undo()
    assert_one_line(result, "Input/output error")
    assert len(calls) == 4 and calls[3][1] == stored
    assert _days(stored) == 5 and leftovers(stored.parent) == []


def _scsim(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scsim", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_concurrent_force_runs_leave_one_complete_run(stored):
    procs = [_scsim("run", str(R0), "--out", str(stored), "--force", "--population", "2000",
                    "--days", str(days), "--quiet") for days in (11, 12, 13)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert _days(stored) in (11, 12, 13)
    assert sorted(p.name for p in stored.parent.iterdir()) == ["run"]


# --- signals ---------------------------------------------------------------------

LONG = ["--population", "400000000", "--days", "365", "--kernel", "universal"]


@pytest.fixture(scope="module", autouse=True)
def _kernel_in_cache() -> None:
    """The long runs' kernel compiled (or loaded) here first: a run that is compiling when
    the signal comes answers only once the compile ends, which may take minutes."""
    from scsim.engine.warmup import warm_up

    warm_up(kernel="universal")


def _wait_for_partial(parent: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not any(".partial-" in p.name for p in parent.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals_leave_nothing(tmp_path, signum):
    proc = _scsim("run", str(R0), "--out", str(tmp_path / "run"), "--quiet", *LONG)
    _wait_for_partial(tmp_path, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert f"interrupted by {signal.Signals(signum).name}" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_later_run_removes_what_a_killed_run_left(tmp_path):
    proc = _scsim("run", str(R0), "--out", str(tmp_path / "run"), "--quiet", *LONG)
    _wait_for_partial(tmp_path, proc)
    proc.kill()
    proc.communicate(timeout=60)
    (stale,) = [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    result = invoke("run", str(R0), "--out", str(tmp_path / "other"), "--population", "300",
                    "--days", "5")
    assert result.exit_code == 0, result.output
    assert f"removed{stale}" in "".join(result.output.split())  # the console wraps lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


# --- what an output may replace ---------------------------------------------------
# Every file a command writes on request (report, compare --html, query --out, plot) is
# renamed into place only over a regular file, and only with --force; a terminal, /dev/null
# or a pipe with a reader is written in place; a run folder's own files are never targets.

OUTPUTS = {
    "report": lambda run, target, *more: ("report", str(run), "--out", str(target), *more),
    "compare": lambda run, target, *more: ("compare", str(run), str(run), "--html",
                                           str(target), *more),
    "query": lambda run, target, *more: ("query", "SELECT run FROM runs", "--root",
                                         str(run.parent), "--format", "csv", "--out",
                                         str(target), *more),
}


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_an_existing_file_is_replaced_only_with_force(tmp_path, stored, command):
    target = tmp_path / "out.txt"
    target.write_text("mine")
    assert_one_line(invoke(*OUTPUTS[command](stored, target)),
                    "already exists; use --force to replace it")
    assert target.read_text() == "mine"
    result = invoke(*OUTPUTS[command](stored, target, "--force"))
    assert result.exit_code == 0, result.output
    assert target.read_text() != "mine" and leftovers(tmp_path) == []


@pytest.mark.parametrize("command", list(OUTPUTS))
@pytest.mark.parametrize("name", ["ledger.json", "summary.json", "daily.parquet",
                                  "run.parquet", "scenario.toml"])
def test_a_run_folders_own_files_are_never_an_output(stored, command, name):
    before = (stored / name).read_bytes()
    for more in ((), ("--force",)):
        assert_one_line(invoke(*OUTPUTS[command](stored, stored / name, *more)),
                        f"is a file of the run folder {stored}")
    assert (stored / name).read_bytes() == before


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_a_fifo_is_written_in_place_when_read_and_refused_when_not(tmp_path, stored, command):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for more in ((), ("--force",)):  # a FIFO nobody reads would block the writer forever
        assert_one_line(invoke(*OUTPUTS[command](stored, fifo, *more)),
                        "cannot write: a pipe with no reader")
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    time.sleep(0.2)
    result = invoke(*OUTPUTS[command](stored, fifo))
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert received and received[0]  # what was written went through the pipe
    assert fifo.is_fifo()  # never replaced by a regular file


def test_a_device_is_written_in_place_never_replaced(tmp_path, stored):
    """/dev/null stays the character device it is (as root, a rename over it would have
    replaced it for every process on the machine)."""
    import stat as stat_module

    for command in OUTPUTS:
        result = invoke(*OUTPUTS[command](stored, Path("/dev/null")))
        assert result.exit_code == 0, result.output
        assert stat_module.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not any(".partial-" in p.name for p in Path("/dev").iterdir())


def test_a_socket_or_a_folder_is_refused(tmp_path, stored):
    import socket

    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        for command in OUTPUTS:
            for more in ((), ("--force",)):
                assert_one_line(invoke(*OUTPUTS[command](stored, path, *more)),
                                "is not a regular file")
                assert_one_line(invoke(*OUTPUTS[command](stored, tmp_path, *more)),
                                "is a folder")
    finally:
        server.close()
    assert path.is_socket()


def test_plot_replaces_figures_only_with_force(tmp_path, stored):
    assert invoke("plot", str(stored)).exit_code == 0
    first = sorted(p.name for p in (stored / "figures").iterdir())
    assert first and all(not name.startswith(".") for name in first)
    assert_one_line(invoke("plot", str(stored)), "already exists; use --force")
    assert invoke("plot", str(stored), "--force").exit_code == 0
    assert sorted(p.name for p in (stored / "figures").iterdir()) == first
