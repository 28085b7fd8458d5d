"""Replicate ensembles on Dask: seeds, statistics, stopping, workers, schedulers, resume.

Clusters started here listen on 127.0.0.1 only and are stopped by the test
that started them.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from scsim.cli import app
from scsim.experiments.seeds import replicate_seed

from conftest import R0

runner = CliRunner()
N, DAYS = 20_000, 365
TIMINGS = {"wall_time_s", "simulate_s", "citizen_days_per_s", "peak_memory_bytes", "started_at",
           "threads"}


SWEEP = ["--vary", "measures.travel_ban.daily_trip_rate=0.001:0.05", "--design", "lhs",
         "--samples", "4", "--replicates", "2", "--population", "5000", "--days", "100",
         "--quiet"]


def ensemble(out: Path, *args: str):
    return runner.invoke(app, ["ensemble", str(R0), "--population", str(N), "--days", str(DAYS),
                               "--out", str(out), "--quiet", "--seed", "7", *args])


def results(out: Path) -> list[dict]:
    rows = pq.read_table(out / "results.parquet").to_pylist()
    return [{k: v for k, v in row.items() if k not in TIMINGS} for row in rows]


def test_replicate_seeds_follow_the_documented_scheme():
    mask = (1 << 64) - 1

    def mix(z):
        z &= mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    assert replicate_seed(7, 2) == mix(mix(7) + 3 * 0x9E3779B97F4A7C15) >> 1
    seeds = [replicate_seed(7, r) for r in range(1000)]
    assert len(set(seeds)) == 1000 and all(0 <= s < 2**63 for s in seeds)


@pytest.fixture(scope="module")
def eight(tmp_path_factory):
    out = tmp_path_factory.mktemp("ensembles") / "eight"
    result = ensemble(out, "--replicates", "8", "--workers", "2")
    assert result.exit_code == 0, result.output
    return out


def test_the_interval_covers_an_analytic_expectation(eight):
    """R0's false records: 1e-5 a day (minority, share 0.1: 1e-4), every one counts, so
    E[total] = N * 365 * (0.9e-5 + 0.1e-4) = 138.7, and per group 65.7 and 73.0."""
    summary = {(r["quantity"], r["group"]): r
               for r in pq.read_table(eight / "ensemble.parquet").to_pylist()}
    expected = {"all": N * DAYS * 1.9e-5, "majority": N * 0.9 * DAYS * 1e-5,
                "minority": N * 0.1 * DAYS * 1e-4}
    for group, value in expected.items():
        row = summary[("false_records", group)]
        assert row["replicates"] == 8
        assert row["t95_low"] <= value <= row["t95_high"], (group, row)
        assert row["p10"] <= row["p90"] and row["t95_low"] >= 0
        # seed noise of a Poisson total: sd / mean about 1 / sqrt(mean), within a factor 2
        assert 0.5 < row["relative_seed_noise"] * math.sqrt(value) < 2
    manifest = json.loads((eight / "ensemble.json").read_text())
    assert manifest["replicates_done"] == list(range(8)) and manifest["root_seed"] == 7
    seeds = [r["seed"] for r in results(eight)]
    assert seeds == [replicate_seed(7, r) for r in range(8)]


def test_one_worker_gives_identical_results(eight, tmp_path):
    one = tmp_path / "one"
    result = ensemble(one, "--replicates", "8", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert results(one) == results(eight)
    for r in range(8):
        a = pq.read_table(one / f"replicate={r}" / "daily.parquet")
        assert a.equals(pq.read_table(eight / f"replicate={r}" / "daily.parquet"))


def test_until_halfwidth_stops_when_it_should(tmp_path):
    loose = tmp_path / "loose"
    result = ensemble(loose, "--replicates", "3", "--until-halfwidth", "60%")
    assert result.exit_code == 0, result.output
    assert json.loads((loose / "ensemble.json").read_text())["target_met"] is True
    assert len(list(loose.glob("replicate=*"))) == 3
    tight = tmp_path / "tight"
    result = runner.invoke(app, ["ensemble", str(R0), "--population", "2000", "--days", "100",
                                 "--out", str(tight), "--replicates", "3",
                                 "--until-halfwidth", "0.1%", "--max-replicates", "5"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tight / "ensemble.json").read_text())
    assert manifest["target_met"] is False and len(manifest["replicates_done"]) == 5
    assert "stopped at 5 replicates" in " ".join(result.output.split())


@pytest.mark.parametrize("args, message", [
    (["--until-halfwidth", "often"], "--until-halfwidth: expected a share such as 5% or 0.05"),
    (["--until-halfwidth", "150%"], "--until-halfwidth: must be between 0 and 100%"),
    (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler tcp://127.0.0.1:9: cannot connect"),
    (["--set", "behaviours.jaywalkk.daily_rate=0.1"], "unknown behaviour 'jaywalkk'"),
])
def test_bad_ensembles_get_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "ens"
    result = ensemble(out, "--replicates", "2", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not out.exists()


def test_an_existing_ensemble_is_refused_without_resume_or_force(eight):
    result = ensemble(eight, "--replicates", "8")
    assert result.exit_code == 2 and "use --resume" in result.stderr


def _wait(predicate, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _scheduler_address(file) -> str | None:
    """The address in a scheduler file, or None while it is absent or being written (the
    scheduler creates the file before it writes it: reading on sight once found it empty)."""
    try:
        return json.loads(file.read_text())["address"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def test_a_separately_started_scheduler_and_worker_give_the_same_results(eight, tmp_path):
    file = tmp_path / "scheduler.json"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", "0",
                                  "--scheduler-file", str(file), "--dashboard-address", ":0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    worker = None
    try:
        _wait(lambda: _scheduler_address(file) is not None)
        address = _scheduler_address(file)
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
             "--nworkers", "1", "--host", "127.0.0.1", "--dashboard-address", ":0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        out = tmp_path / "remote"
        result = ensemble(out, "--replicates", "8", "--scheduler", address)
        assert result.exit_code == 0, result.output
        assert results(out) == results(eight)
        sweeps = []
        for where in (["--scheduler", address], []):  # a sweep too, remote then local
            folder = tmp_path / f"sweep{len(where)}"
            ran = runner.invoke(app, ["sweep", str(R0), *SWEEP, "--out", str(folder), *where])
            assert ran.exit_code == 0, ran.output
            sweeps.append(results(folder))
        assert sweeps[0] == sweeps[1]
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)


def test_kill_and_resume_equals_an_uninterrupted_ensemble(eight, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "scsim", "ensemble", str(R0), "--population", str(N),
               "--days", str(DAYS), "--out", str(out), "--quiet", "--seed", "7",
               "--replicates", "8", "--workers", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait(lambda: len(list(out.glob("replicate=*"))) >= 2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its local cluster
        proc.wait(timeout=30)
    assert not (out / "results.parquet").exists()
    assert len(list(out.glob("replicate=*"))) < 8
    resumed = ensemble(out, "--replicates", "8", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert results(out) == results(eight)
    assert pq.read_table(out / "ensemble.parquet").equals(pq.read_table(eight /
                                                                        "ensemble.parquet"))
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert hidden == [".scsim.lock"]  # partials removed; the (released) lock stays


def test_the_ensemble_report_shows_the_bands(eight):
    page = (eight / "report.html").read_text()
    summary = {r["quantity"]: r for r in pq.read_table(eight / "ensemble.parquet").to_pylist()
               if r["group"] == "all"}
    assert page.count("data-quantity='false_records'") == 1 + 2  # all citizens and two groups
    assert "figure-blacklisted-band" in page and "spread, not an interval" in page
    assert "8 replicates of <b>r0</b>" in page
    assert f"{summary['false_records']['mean']:.3g}" in page or "138" in page


def test_kill_and_resume_of_a_sweep_equals_an_uninterrupted_sweep(tmp_path):
    bigger = [*SWEEP, "--population", "200000", "--days", "365"]  # slow enough to interrupt
    whole = tmp_path / "whole"
    assert runner.invoke(app, ["sweep", str(R0), *bigger, "--out", str(whole)]).exit_code == 0
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "scsim", "sweep", str(R0), *bigger, "--out", str(out),
               "--workers", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait(lambda: len(list(out.glob("point=*/replicate=*/summary.json"))) >= 2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert not (out / "results.parquet").exists()
    resumed = runner.invoke(app, ["sweep", str(R0), *bigger, "--out", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert results(out) == results(whole)


def test_scsim_workers_sets_the_default_worker_count(monkeypatch):
    """Without --workers the embedded cluster has SCSIM_WORKERS processes (one per core when
    unset); a value that is not a count is refused in one line, exit 2."""
    from scsim.experiments.cluster import ClusterError, default_workers, open_client

    monkeypatch.delenv("SCSIM_WORKERS", raising=False)
    assert default_workers() == (os.cpu_count() or 1)
    monkeypatch.setenv("SCSIM_WORKERS", "1")
    with open_client() as client:
        assert len(client.scheduler_info()["workers"]) == 1
    for bad in ("0", "two", "-1", "257"):
        monkeypatch.setenv("SCSIM_WORKERS", bad)
        with pytest.raises(ClusterError, match=r"SCSIM_WORKERS=.*whole number"):
            default_workers()
    result = runner.invoke(app, ["ensemble", str(R0), "--replicates", "2",
                                 "--population", "100", "--days", "3", "-q"])
    assert result.exit_code == 2
    assert "SCSIM_WORKERS='257'" in result.output and "Traceback" not in result.output
