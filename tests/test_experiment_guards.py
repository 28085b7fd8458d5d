"""Experiments check what they mix, claim and read: one process per folder, a resume only of
the same experiment, no value the runs set themselves, failures said and counted, damaged
files named in one line, sizes within bounds, and a full disk at the end leaves nothing.

Clusters started here listen on 127.0.0.1 only and are stopped by the command that started
them; refusals are checked before any cluster starts.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from scsim.cli import app
from scsim.io.run_dir import locked_folder

from conftest import R0

runner = CliRunner()
TRIP_RATE = "measures.travel_ban.daily_trip_rate"
SMALL = ["--population", "2000", "--days", "30", "--quiet"]
GRID = ["--vary", f"{TRIP_RATE}=0.001,0.05", "--design", "grid", "--seed", "3"]
MORRIS = ["--vary", f"{TRIP_RATE}=0.001:0.05", "--vary",
          "channels.traffic_cameras.false_attribution.daily_rate=1e-6:1e-4", "--design",
          "morris", "--samples", "2", "--seed", "3"]


def sweep(out: Path, *args: str):
    return runner.invoke(app, ["sweep", str(R0), "--out", str(out), *SMALL, *args])


def ensemble(out: Path, *args: str):
    return runner.invoke(app, ["ensemble", str(R0), "--out", str(out), *SMALL, "--seed", "3",
                               *args])


def one_line(result, message: str, status: int = 2) -> None:
    assert result.exit_code == status, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A finished grid sweep, a Morris sweep and a five-replicate ensemble (one cluster each)."""
    top = tmp_path_factory.mktemp("guards")
    made = [sweep(top / "grid", *GRID), sweep(top / "morris", *MORRIS),
                   ensemble(top / "ensemble", "--replicates", "5")]
    for result in made:
        assert result.exit_code == 0, result.output
    return top


def copy(made: Path, name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(made / name, target)
    return target


# --- one process per experiment folder ---------------------------------------------


@pytest.mark.parametrize("command", ["sweep --force", "sweep --resume", "ensemble --force",
                                     "ensemble --resume", "analyze"])
def test_a_folder_in_use_is_refused_even_with_force(made, tmp_path, command):
    """While a process holds the folder's lock (here this test, as a running sweep would),
    no second one may empty it, resume in it or analyse it."""
    name = "ensemble" if command.startswith("ensemble") else (
        "morris" if command == "analyze" else "grid")
    folder = copy(made, name, tmp_path)
    before = snapshot(folder)
    with locked_folder(folder, "sweep"):
        if command == "analyze":
            result = runner.invoke(app, ["analyze", str(folder), "--output", "trips_denied"])
        elif command.startswith("sweep"):
            result = sweep(folder, *GRID, command.split()[1])
        else:
            result = ensemble(folder, "--replicates", "5", command.split()[1])
    one_line(result, f"another scsim process (pid {os.getpid()}) is running this")
    after = snapshot(folder)
    assert {k: v for k, v in after.items() if k != ".scsim.lock"} == \
        {k: v for k, v in before.items() if k != ".scsim.lock"}


def test_a_second_sweep_cannot_force_its_way_into_a_running_one(tmp_path):
    """The case as it happened: a sweep runs in a real process; a second one with --force
    into its folder is refused, and the first finishes with every run it claims."""
    out = tmp_path / "running"
    command = [sys.executable, "-m", "scsim", "sweep", str(R0), "--out", str(out), *SMALL,
               "--vary", f"{TRIP_RATE}=0.001:0.05", "--design", "lhs", "--samples", "6",
               "--workers", "1"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out / "sweep.json").exists():
            assert first.poll() is None and time.monotonic() < deadline, "the sweep ended"
            time.sleep(0.2)
        second = sweep(out, "--vary", f"{TRIP_RATE}=0.001:0.05", "--design", "lhs",
                       "--samples", "6", "--force")
        one_line(second, "another scsim process")
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["runs_done"] == 6 and manifest["runs_failed"] == {}
    assert pq.read_table(out / "results.parquet").num_rows == 6
    assert all((out / f"point={p}" / "replicate=0" / "summary.json").is_file() for p in range(6))


# --- a resume is of the same experiment ----------------------------------------------


@pytest.mark.parametrize("extra, differs", [
    (["--counterfactual", "none"], "counterfactual_sha256"),
    (["--replicates", "2"], "replicates"),
    (["--seed", "4"], "root_seed"),
    (["--population", "3000"], "point_sha256"),
])
def test_a_sweep_resumes_only_as_it_started(made, tmp_path, extra, differs):
    folder = copy(made, "grid", tmp_path)
    before = snapshot(folder)
    args = [a for a in GRID if a not in ("--seed", "3")] if "--seed" in extra else GRID
    if "--population" in extra:
        result = runner.invoke(app, ["sweep", str(R0), "--out", str(folder), "--days", "30",
                                     "--quiet", *GRID, *extra, "--resume"])
    else:
        result = sweep(folder, *args, *extra, "--resume")
    one_line(result, f"--resume with another {differs}")
    assert snapshot(folder) == before


@pytest.mark.parametrize("extra, differs", [
    (["--replicates", "3"], "replicates (3, fewer than the 5 it was started with"),
    (["--replicates", "5", "--counterfactual", "none"], "counterfactual"),
    (["--replicates", "5", "--until-halfwidth", "5%"], "until_halfwidth"),
])
def test_an_ensemble_resumes_only_as_it_started(made, tmp_path, extra, differs):
    folder = copy(made, "ensemble", tmp_path)
    before = snapshot(folder)
    one_line(ensemble(folder, *extra, "--resume"), f"--resume with another {differs}")
    assert snapshot(folder) == before


def test_a_resumed_run_paired_otherwise_is_run_again(made, tmp_path):
    """A run folder left from an unpaired sweep is not a run of a paired one: _done compares
    the stored counterfactual too."""
    from scsim.experiments.seeds import replicate_seed
    from scsim.experiments.sweep import SweepSpec, completed_run, plan

    folder = copy(made, "grid", tmp_path)
    base = dict(scenario_file=R0, fixed={"population.size": 2000, "run.days": 30,
                                         "run.end": None},
                varies=[], design="grid", samples=8, replicates=1, root_seed=3, out=folder)
    from scsim.experiments.design import parse_vary

    varies = [parse_vary(f"{TRIP_RATE}=0.001,0.05")]
    unpaired = plan(SweepSpec(**base | {"varies": varies, "counterfactual": None}))
    paired = plan(SweepSpec(**base | {"varies": varies, "counterfactual": "none"}))
    run = folder / "point=0" / "replicate=0"
    seed = replicate_seed(3, 0)
    assert completed_run(run, seed, unpaired.loaded[0], unpaired.pairings[0])
    assert not completed_run(run, seed, paired.loaded[0], paired.pairings[0])
    assert not completed_run(run, seed + 1, unpaired.loaded[0], unpaired.pairings[0])


# --- values the runs set themselves ------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--vary", "run.seed=1,2,3", "--design", "grid"],
    ["--vary", "run.seed=1:100", "--design", "lhs"],
    [*GRID, "--set", "run.seed=5"],
])
def test_a_sweep_may_not_set_or_vary_the_seed(tmp_path, args):
    out = tmp_path / "sweep"
    one_line(sweep(out, *args), "run.seed: each run's seed is derived from the root seed")
    assert not out.exists()


def test_an_experiment_file_may_not_set_the_seed(tmp_path):
    (tmp_path / "r0.toml").write_text(R0.read_text())
    experiment = tmp_path / "experiment.toml"
    experiment.write_text('scenario = "r0.toml"\ndesign = "grid"\n[set]\n"run.seed" = 5\n'
                          f'[[vary]]\npath = "{TRIP_RATE}"\nvalues = [0.01, 0.02]\n')
    out = tmp_path / "sweep"
    one_line(runner.invoke(app, ["sweep", str(experiment), "--out", str(out), "--quiet"]),
             "run.seed: each run's seed is derived from the root seed")
    assert not out.exists()


@pytest.mark.parametrize("option", ["--set", "--add"])
def test_an_ensemble_may_not_set_the_seed(tmp_path, option):
    out = tmp_path / "ensemble"
    one_line(ensemble(out, option, "run.seed=5"), "run.seed: each run's seed is derived")
    assert not out.exists()


# --- failures are said, on stderr, with a non-zero status ----------------------------


def _block_every_run(folder: Path) -> None:
    for run in [*folder.glob("point=*/replicate=*"), *folder.glob("replicate=*")]:
        shutil.rmtree(run)
        run.write_text("in the way")  # no run can be written here


def test_a_sweep_whose_every_run_failed_exits_1(made, tmp_path):
    folder = copy(made, "grid", tmp_path)
    _block_every_run(folder)
    result = sweep(folder, *GRID, "--resume")
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert "error: point=0/replicate=0 failed: RunDirExists" in result.stderr
    assert lines[-1].startswith("error: 2 runs failed")
    manifest = json.loads((folder / "sweep.json").read_text())
    assert manifest["runs_done"] == 0 and len(manifest["runs_failed"]) == 2


def test_an_ensemble_whose_every_run_failed_exits_1(made, tmp_path):
    folder = copy(made, "ensemble", tmp_path)
    _block_every_run(folder)
    result = ensemble(folder, "--replicates", "5", "--resume")
    assert result.exit_code == 1, result.output
    assert "error: replicate=4 failed" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: 5 runs failed")
    assert json.loads((folder / "ensemble.json").read_text())["replicates_done"] == []


def test_an_ensemble_summarises_exactly_its_replicates(made, tmp_path):
    """Resumed with more replicates than it has, it runs the missing ones and summarises
    replicates 0..R-1; the figures equal those of an ensemble run at once."""
    folder = copy(made, "ensemble", tmp_path)
    result = ensemble(folder, "--replicates", "6", "--resume")
    assert result.exit_code == 0, result.output
    done = json.loads((folder / "ensemble.json").read_text())["replicates_done"]
    assert done == list(range(6))
    at_once = tmp_path / "at-once"
    assert ensemble(at_once, "--replicates", "6").exit_code == 0
    assert pq.read_table(folder / "ensemble.parquet").equals(
        pq.read_table(at_once / "ensemble.parquet"))


# --- damaged files are named in one line ---------------------------------------------


MANIFEST_DAMAGE = {
    "empty": b"",
    "truncated": b'{"format": 2, "kind": "sweep", "design": "mor',
    "not an object": b"[1, 2, 3]",
    "wrong type": b'{"format": "two"}',
    "missing keys": b'{"format": 2, "kind": "sweep"}',
    "bad problem": None,  # filled below from the real manifest
    "not UTF-8": b"\xff\xfe{",
}


@pytest.mark.parametrize("damage", list(MANIFEST_DAMAGE))
def test_analyze_and_resume_name_a_damaged_sweep_json(made, tmp_path, damage):
    folder = copy(made, "morris", tmp_path)
    data = MANIFEST_DAMAGE[damage]
    if data is None:
        manifest = json.loads((folder / "sweep.json").read_text())
        manifest["problem"]["bounds"] = [[1, 0]] * len(manifest["problem"]["names"])
        data = json.dumps(manifest).encode()
    (folder / "sweep.json").write_bytes(data)
    one_line(runner.invoke(app, ["analyze", str(folder), "--output", "trips_denied"]),
             "sweep.json")
    one_line(sweep(folder, *MORRIS, "--resume"), "sweep.json")


@pytest.mark.parametrize("name, damage, message", [
    ("design.parquet", b"", "design.parquet: unreadable or corrupt"),
    ("design.parquet", b"PAR1garbagePAR1", "design.parquet: unreadable or corrupt"),
    ("design.parquet", "drop column", "design.parquet: corrupt: no column"),
    ("design.parquet", "text column", "is string, not a number"),
    ("design.parquet", "rows", "its rows are not points"),
    ("results.parquet", b"", "results.parquet: unreadable or corrupt"),
    ("results.parquet", "drop column", "results.parquet: corrupt: no column"),
    ("results.parquet", "repeat a row", "is outside the design or repeated"),
    ("results.parquet", "point out of range", "is outside the design or repeated"),
])
def test_analyze_names_a_damaged_table(made, tmp_path, name, damage, message):
    folder = copy(made, "morris", tmp_path)
    path = folder / name
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    else:
        table = pq.read_table(path)
        if damage == "drop column":
            table = table.drop_columns([table.column_names[-1] if name == "design.parquet"
                                        else "trips_denied"])
        elif damage == "text column":
            table = table.set_column(1, table.column_names[1],
                                     pa.array([str(v) for v in table.column(1).to_pylist()]))
        elif damage == "rows":
            table = table.slice(1)
        elif damage == "repeat a row":
            table = pa.concat_tables([table, table.slice(0, 1)])
        else:
            index = table.schema.get_field_index("point")
            table = table.set_column(index, "point", pa.array(
                [10**6] * table.num_rows, table.schema.field("point").type))
        pq.write_table(table, path)
    one_line(runner.invoke(app, ["analyze", str(folder), "--output", "trips_denied"]), message)


@pytest.mark.parametrize("damage", ["summary.json", "run.parquet", "ledger.json"])
def test_resume_runs_again_a_run_whose_files_are_damaged(made, tmp_path, damage):
    folder = copy(made, "grid", tmp_path)
    before = pq.read_table(folder / "results.parquet").select(["point", "sanctioned"])
    (folder / "point=1" / "replicate=0" / damage).write_bytes(b"{ damaged")
    result = sweep(folder, *GRID, "--resume")
    assert result.exit_code == 0, result.output
    assert pq.read_table(folder / "results.parquet").select(["point", "sanctioned"]).equals(
        before)


# --- sizes within bounds --------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--vary", f"{TRIP_RATE}=0.01:0.1", "--samples", "1000000000"],
     "--samples: must be between 1 and 100,000"),
    (["--vary", f"{TRIP_RATE}=0.01:0.1", "--samples", "-3"], "--samples: must be between 1"),
    ([*(f"--vary={p}=0.1:0.2" for p in (
        TRIP_RATE, "behaviours.jaywalk.daily_rate", "behaviours.late_payment.daily_rate",
        "behaviours.speech.daily_rate", "channels.traffic_cameras.detection")),
      "--design", "grid", "--samples", "100"],
     "the grid design has 10,000,000,000 points; at most 100,000"),
    (["--vary", f"{TRIP_RATE}=0.01:0.1", "--design", "lhs", "--samples", "1000",
      "--replicates", "5000"], "1,000 points x 5,000 replicates = 5,000,000 runs"),
    (["--vary", f"{TRIP_RATE}=0.01:0.1", "--replicates", "20000"],
     "--replicates: must be between 1 and 10,000"),
])
def test_sizes_a_user_types_are_bounded(tmp_path, args, message):
    out = tmp_path / "sweep"
    one_line(sweep(out, *args), message)
    assert not out.exists()


def test_an_experiment_file_is_bounded_like_the_options(tmp_path):
    (tmp_path / "r0.toml").write_text(R0.read_text())
    experiment = tmp_path / "experiment.toml"
    axes = "".join(f'[[vary]]\npath = "{p}"\nlow = 0.1\nhigh = 0.2\n' for p in (
        TRIP_RATE, "behaviours.jaywalk.daily_rate", "behaviours.late_payment.daily_rate",
        "behaviours.speech.daily_rate", "channels.traffic_cameras.detection"))
    experiment.write_text(f'scenario = "r0.toml"\ndesign = "grid"\nsamples = 100\n{axes}')
    out = tmp_path / "sweep"
    one_line(runner.invoke(app, ["sweep", str(experiment), "--out", str(out), "--quiet"]),
             "10,000,000,000 points")
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--replicates", "20000"], "at most 10,000"),
    (["--replicates", "5", "--max-replicates", "20000", "--until-halfwidth", "5%"],
     "at most 10,000"),
])
def test_ensemble_sizes_are_bounded(tmp_path, args, message):
    out = tmp_path / "ensemble"
    one_line(ensemble(out, *args), message)
    assert not out.exists()


# --- a full disk at the end ------------------------------------------------------------


def _full_disk_for(monkeypatch, suffix: str) -> None:
    real = pq.write_table

    def full(table, where, *args, **kwargs):
        if f"{suffix}.partial-" in str(where):
            Path(where).write_bytes(b"half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", full)


def test_a_full_disk_while_a_sweep_compacts_is_one_line(made, tmp_path, monkeypatch):
    folder = copy(made, "grid", tmp_path)
    _full_disk_for(monkeypatch, "results.parquet")
    one_line(sweep(folder, *GRID, "--resume"), "results.parquet: cannot write: No space left")
    assert not any(".partial-" in p.name for p in folder.rglob("*"))


def test_a_full_disk_while_an_ensemble_ends_is_one_line(made, tmp_path, monkeypatch):
    folder = copy(made, "ensemble", tmp_path)
    _full_disk_for(monkeypatch, "ensemble.parquet")
    one_line(ensemble(folder, "--replicates", "5", "--resume"), "No space left on device")
    assert not any(".partial-" in p.name for p in folder.rglob("*"))


@pytest.mark.parametrize("what", ["parquet", "figure"])
def test_a_full_disk_while_analysing_is_one_line_and_leaves_no_empty_figure(
        made, tmp_path, monkeypatch, what):
    folder = copy(made, "morris", tmp_path)
    if what == "parquet":
        _full_disk_for(monkeypatch, "sensitivity-trips_denied.parquet")
    else:
        from matplotlib.figure import Figure

        def full(self, where, *args, **kwargs):
            Path(where).write_bytes(b"")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(Figure, "savefig", full)
    one_line(runner.invoke(app, ["analyze", str(folder), "--output", "trips_denied"]),
             "No space left on device")
    assert not list(folder.glob("sensitivity-*.png"))
    assert not any(".partial-" in p.name for p in folder.rglob("*"))


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "folder", "huge", "binary"])
def test_sweep_reads_its_file_through_the_checked_reader(tmp_path, kind):
    """An experiment (or scenario) file that is a FIFO, a device, a folder, too large or not
    text is refused before anything reads it whole: no hang, no memory eaten."""
    path = {"/dev/zero": Path("/dev/zero")}.get(kind, tmp_path / "experiment.toml")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "huge":
        path.write_text("# padding\n" * 200_000)
    elif kind == "binary":
        path.write_bytes(b"scenario = 1\x00\xff")
    out = tmp_path / "sweep"
    started = time.monotonic()
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--quiet"])
    assert time.monotonic() - started < 30
    message = {"fifo": "not a regular file", "/dev/zero": "not a regular file",
               "folder": "a folder", "huge": "a scenario may have at most",
               "binary": "contains a NUL byte"}[kind]
    one_line(result, message)
    assert not out.exists()


@pytest.mark.parametrize("damage", [b"", b"{", b'{"output_mean": "x"}', b"[]"])
def test_a_damaged_earlier_analysis_is_said_on_the_page_not_a_traceback(made, tmp_path,
                                                                         damage):
    folder = copy(made, "morris", tmp_path)
    first = runner.invoke(app, ["analyze", str(folder), "--output", "sanctioned"])
    assert first.exit_code == 0, first.output
    (folder / "sensitivity-sanctioned.json").write_bytes(damage)
    again = runner.invoke(app, ["analyze", str(folder), "--output", "trips_denied"])
    assert again.exit_code == 0, again.output
    page = (folder / "report.html").read_text()
    assert "sensitivity-sanctioned.parquet or its JSON cannot be read" in page
    assert "Sensitivity of trips_denied (all)" in page


@pytest.mark.parametrize("damage", ["", "{", "[]", '{"format": 2}',
                                    '{"format": 2, "kind": "sweep", "scenario_sha256": "x", '
                                    '"root_seed": 3, "replicates": 5}',
                                    '{"format": 2, "kind": "ensemble", "scenario_sha256": "x", '
                                    '"root_seed": -1, "replicates": 5}'])
def test_resume_names_a_damaged_ensemble_json(made, tmp_path, damage):
    folder = copy(made, "ensemble", tmp_path)
    (folder / "ensemble.json").write_text(damage)
    one_line(ensemble(folder, "--replicates", "5", "--resume"), "ensemble.json")


def test_workers_are_bounded(tmp_path):
    result = ensemble(tmp_path / "e", "--replicates", "2", "--workers", "100000")
    assert result.exit_code == 2 and "--workers" in result.stderr
    assert not (tmp_path / "e").exists()
