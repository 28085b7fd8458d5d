"""Sweeps and sensitivity: designs, common random numbers across points, indices that find
known structure, experiment files, validation before running, failures and resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from scsim.cli import app
from scsim.experiments.design import Vary, build, expected_points

from conftest import R0

runner = CliRunner()
FALSE_RATE = "channels.traffic_cameras.false_attribution.daily_rate"
TRIP_RATE = "measures.travel_ban.daily_trip_rate"
SMALL = ["--population", "2000", "--days", "100", "--quiet"]


@pytest.mark.parametrize("design, samples, expected", [
    ("sobol", 8, 8 * (3 + 2)), ("morris", 5, 5 * (3 + 1)), ("lhs", 7, 7), ("grid", 3, 3 * 3 * 2),
])
def test_designs_have_the_documented_number_of_points(design, samples, expected):
    varies = [Vary("a", 0.0, 1.0), Vary("b", 10.0, 20.0), Vary("c", values=("x", "y"))]
    points, _ = build(varies, design, samples, seed=3)
    assert len(points) == expected == expected_points(design, samples, varies)
    for point in points:
        assert 0 <= point["a"] <= 1 and 10 <= point["b"] <= 20 and point["c"] in ("x", "y")
    assert build(varies, design, samples, seed=3)[0] == points  # the seed fixes the design


def sweep(out: Path, *args: str):
    return runner.invoke(app, ["sweep", str(R0), "--out", str(out), *SMALL, *args])


@pytest.fixture(scope="module")
def sobol(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "sobol"
    result = sweep(out, "--vary", f"{FALSE_RATE}=1e-6:1e-4", "--vary", f"{TRIP_RATE}=0.001:0.05",
                   "--design", "sobol", "--samples", "16", "--replicates", "2", "--seed", "5")
    assert result.exit_code == 0, result.output
    return out


def test_every_point_shares_the_replicate_seeds(sobol):
    """The trip rate and false jaywalks (-5 points, never enough to list) cannot change who is
    blacklisted: at every point each replicate's listings are bit-identical (common random
    numbers), while false records follow the rate."""
    rows = pq.read_table(sobol / "results.parquet").to_pylist()
    assert len(rows) == 16 * 4 * 2
    for replicate in (0, 1):
        mine = [r for r in rows if r["replicate"] == replicate]
        assert len({r["seed"] for r in mine}) == 1
        assert len({r["sanctioned"] for r in mine}) == 1
        first = pq.read_table(sobol / f"point={mine[0]['point']}" / f"replicate={replicate}" /
                              "daily.parquet").column("blacklisted")
        for r in mine[1:6]:
            other = pq.read_table(sobol / f"point={r['point']}" / f"replicate={replicate}" /
                                  "daily.parquet").column("blacklisted")
            assert other.equals(first)
        assert pc.sum(first).as_py() > 0  # people are listed, identically at every point
    assert len({r["false_records"] for r in rows}) > 10


def test_sobol_indices_find_the_parameter_that_matters(sobol):
    for output, dominant, inert in (("false_records", FALSE_RATE, TRIP_RATE),
                                    ("trips_denied", TRIP_RATE, FALSE_RATE)):
        result = runner.invoke(app, ["analyze", str(sobol), "--output", output])
        assert result.exit_code == 0, result.output
        rows = {r["parameter"]: r for r in
                pq.read_table(sobol / f"sensitivity-{output}.parquet").to_pylist()}
        # the inert parameter's total index: its interval contains 0
        assert rows[inert]["ST"] - rows[inert]["ST_conf"] <= 0 <= rows[inert]["ST"] + \
            rows[inert]["ST_conf"]
        assert rows[dominant]["ST"] > rows[inert]["ST"] and rows[dominant]["ST"] > 0.5
        about = json.loads((sobol / f"sensitivity-{output}.json").read_text())
        assert about["replicates"] == 2 and 0 <= about["seed_noise_share"] <= 1
        assert not about["constant_output"]
        assert "same at every point" not in result.output
        assert (sobol / f"sensitivity-{output}.png").stat().st_size > 5000


def test_morris_and_an_experiment_file_give_the_same_sweep(tmp_path):
    experiment = tmp_path / "experiment.toml"
    experiment.write_text(
        f'scenario = "{R0}"\ndesign = "morris"\nsamples = 3\nreplicates = 1\nseed = 9\n'
        'population = 2000\ndays = 100\n'
        f'[[vary]]\npath = "{FALSE_RATE}"\nlow = 1e-6\nhigh = 1e-4\n'
        f'[[vary]]\npath = "{TRIP_RATE}"\nvalues = [0.001, 0.01, 0.05]\n')
    from_file = tmp_path / "file"
    result = runner.invoke(app, ["sweep", str(experiment), "--out", str(from_file), "--quiet"])
    assert result.exit_code == 0, result.output
    flags = tmp_path / "flags"
    result = sweep(flags, "--vary", f"{FALSE_RATE}=1e-6:1e-4",
                   "--vary", f"{TRIP_RATE}=0.001,0.01,0.05", "--design", "morris",
                   "--samples", "3", "--seed", "9")
    assert result.exit_code == 0, result.output
    drop = {"wall_time_s", "simulate_s", "citizen_days_per_s", "peak_memory_bytes",
            "started_at", "run"}
    a, b = (
        [{k: v for k, v in row.items() if k not in drop}
         for row in pq.read_table(folder / "results.parquet").to_pylist()]
        for folder in (from_file, flags))
    assert a == b and len(a) == 3 * (2 + 1)
    analysed = runner.invoke(app, ["analyze", str(flags), "--output", "false_records"])
    assert analysed.exit_code == 0, analysed.output
    assert "mu_star" in pq.read_table(flags / "sensitivity-false_records.parquet").column_names


@pytest.mark.parametrize("args, message", [
    (["--vary", "behaviours.jaywalkk.daily_rate=0:0.1"], "unknown behaviour 'jaywalkk'"),
    (["--vary", "behaviours.jaywalk.daily_rate=0:2"],
     "the value 2.0 is refused: Input should be less than or equal to 1"),
    (["--vary", f"{TRIP_RATE}=0.1:0.01"], "need LO < HI"),
    (["--vary", f"{TRIP_RATE}=fast"], "is not a TOML value"),
    (["--vary", f"{TRIP_RATE}=0.01:0.1", "--design", "factorial"], "unknown design 'factorial'"),
    (["--vary", f"{TRIP_RATE}=0.01:0.1", "--design", "sobol", "--samples", "6"],
     "Sobol designs need a power of two"),
    ([], "--vary: give at least one parameter to vary"),
    (["--vary", f"{TRIP_RATE}=0.01:0.1", "--population", "5000000000", "--workers", "2"],
     "2 workers running 5,000,000,000 citizens each need about"),
])
def test_bad_sweeps_get_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "sweep"
    result = sweep(out, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not out.exists()


def test_a_failed_run_is_recorded_and_resume_completes_the_sweep(tmp_path):
    out = tmp_path / "sweep"
    args = ["--vary", f"{TRIP_RATE}=0.001,0.01,0.05", "--design", "grid", "--replicates", "2"]
    assert sweep(out, *args).exit_code == 0
    before = pq.read_table(out / "results.parquet").drop_columns(
        ["wall_time_s", "simulate_s", "citizen_days_per_s", "peak_memory_bytes", "started_at"])
    blocked = out / "point=1" / "replicate=0"
    shutil.rmtree(blocked)
    blocked.write_text("in the way")  # this run cannot be written
    shutil.rmtree(out / "point=2" / "replicate=1")  # and this one is simply missing
    result = sweep(out, *args, "--resume")
    assert result.exit_code == 1, result.output  # a run failed: said on stderr, status 1
    assert "error: point=1/replicate=0 failed" in " ".join(result.stderr.split())
    manifest = json.loads((out / "sweep.json").read_text())
    assert list(manifest["runs_failed"]) == ["point=1/replicate=0"]
    assert (out / "point=2" / "replicate=1" / "summary.json").is_file()  # the other one ran
    blocked.unlink()
    assert sweep(out, *args, "--resume").exit_code == 0
    after = pq.read_table(out / "results.parquet").drop_columns(
        ["wall_time_s", "simulate_s", "citizen_days_per_s", "peak_memory_bytes", "started_at"])
    assert after.equals(before)


def test_analyze_refuses_what_it_cannot_do(tmp_path, sobol):
    grid = tmp_path / "grid"
    assert sweep(grid, "--vary", f"{TRIP_RATE}=0.001,0.05", "--design", "grid").exit_code == 0
    for args, message in (
        ([str(grid), "--output", "sanctioned"], "indices need a sobol or morris design"),
        ([str(sobol), "--output", "sanctiond"], "unknown quantity 'sanctiond'"),
        ([str(sobol), "--output", "speech_lost"], "not measured in this sweep"),
        ([str(tmp_path), "--output", "sanctioned"], "not a sweep folder"),
    ):
        result = runner.invoke(app, ["analyze", *args])
        assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_screen_ranks_the_assumptions_of_a_preset(tmp_path):
    """Morris over every ASSUMPTION of the one-year national preset: the wrongful-listing
    rate is what moves wrongly_sanctioned and false_records, and nothing else moves false
    records."""
    from conftest import SCENARIOS

    out = tmp_path / "screen"
    result = runner.invoke(app, ["screen", str(SCENARIOS / "national-empty-list.toml"),
                                 "--population", "20000", "--out", str(out), "--samples", "2",
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out / "screen.parquet").to_pylist()
    s = json.loads((out / "sweep.json").read_text())
    assumptions = [v["path"] for v in s["vary"]]
    assert s["kind"] == "screen" and s["points"] == 2 * (len(assumptions) + 1)
    false = [r for r in rows if r["quantity"] == "false_records"]
    assert {r["parameter"] for r in false} == set(assumptions)
    assert false[0]["parameter"] == "channels.courts.false_attribution.daily_rate"
    assert all(r["mu_star"] == 0 for r in false[1:])  # common random numbers: exactly no effect
    top = next(r for r in rows if r["quantity"] == "wrongly_sanctioned" and r["rank"] == 1)
    assert top["parameter"] == "channels.courts.false_attribution.daily_rate"


def test_screen_needs_assumptions(tmp_path):
    result = runner.invoke(app, ["screen", str(R0), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2 and "no value is marked as an assumption" in result.stderr


def test_the_sweep_report_puts_indices_beside_the_spread(sobol):
    assert runner.invoke(app, ["analyze", str(sobol), "--output", "false_records"]).exit_code == 0
    page = (sobol / "report.html").read_text()
    assert "Spread of the outputs across points" in page
    assert "Sensitivity of false_records (all)" in page and "figure-sensitivity" in page
    assert "data-quantity='false_records'" in page


@pytest.mark.parametrize("text, message", [
    ('scenario = "r0.toml"\ndesign = "lhs"\n[[vary]]\npath = "run.days"\nlow = 1\nhigh = 2\n'
     'colour = 1\n', "vary.0.colour: Extra inputs are not permitted"),
    ('scenario = "r0.toml"\ndesign = "anova"\n[[vary]]\npath = "x"\nvalues = [1, 2]\n',
     "design: Input should be 'grid', 'lhs', 'sobol' or 'morris'"),
    ('scenario = "missing.toml"\n[[vary]]\npath = "run.days"\nlow = 1\nhigh = 5\n',
     "file not found"),
    ('scenario = "r0.toml"\n[[vary]]\npath = "run.days"\nlow = 5\n',
     "give low and high, or values"),
    ('scenario = "r0.toml"\nsamples = 0\n[[vary]]\npath = "run.days"\nlow = 1\nhigh = 5\n',
     "samples: Input should be greater than or equal to 1"),
])
def test_bad_experiment_files_get_one_line_and_write_nothing(tmp_path, text, message):
    (tmp_path / "r0.toml").write_text(R0.read_text())
    experiment = tmp_path / "experiment.toml"
    experiment.write_text(text)
    out = tmp_path / "sweep"
    result = runner.invoke(app, ["sweep", str(experiment), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not out.exists()


def test_an_unreachable_scheduler_gets_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "sweep"
    result = sweep(out, "--vary", f"{TRIP_RATE}=0.01:0.1", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and "cannot connect" in result.stderr, result.output
    assert not out.exists()


def test_one_or_two_workers_give_the_same_sweep(tmp_path):
    drop = {"wall_time_s", "simulate_s", "citizen_days_per_s", "peak_memory_bytes",
            "started_at", "threads"}
    tables = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        result = sweep(out, "--vary", f"{FALSE_RATE}=1e-6:1e-4", "--design", "lhs",
                       "--samples", "4", "--replicates", "2", "--workers", workers)
        assert result.exit_code == 0, result.output
        tables.append([{k: v for k, v in r.items() if k not in drop}
                       for r in pq.read_table(out / "results.parquet").to_pylist()])
    assert tables[0] == tables[1] and len(tables[0]) == 8


def test_a_sweep_over_a_behaviour_rate_says_the_draws_differ(tmp_path):
    result = runner.invoke(app, ["sweep", str(R0), "--out", str(tmp_path / "s"), "--population",
                                 "1000", "--days", "20", "--samples", "2",
                                 "--vary", "behaviours.jaywalk.daily_rate=0.001:0.003",
                                 "--vary", f"{TRIP_RATE}=0.01:0.02"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "behaviours.jaywalk.daily_rate is part of the world" in text
    assert f"{TRIP_RATE} is" not in text and "e+" not in text


def test_resume_with_a_damaged_manifest_gets_one_line(tmp_path):
    out = tmp_path / "sweep"
    args = ["--vary", f"{TRIP_RATE}=0.001,0.05", "--design", "grid"]
    assert sweep(out, *args).exit_code == 0
    (out / "sweep.json").write_text("{ not json")
    result = sweep(out, *args, "--resume")
    assert result.exit_code == 2 and "sweep.json: unreadable" in result.stderr, result.output
    assert result.stderr.count("\n") == 1


def test_analyze_one_group(sobol):
    result = runner.invoke(app, ["analyze", str(sobol), "--output", "false_records",
                                 "--group", "minority"])
    assert result.exit_code == 0, result.output
    about = json.loads((sobol / "sensitivity-false_records-minority.json").read_text())
    values = [r["value"] for path in sobol.glob("point=*/replicate=*/ledger.parquet")
              for r in pq.read_table(path).to_pylist()
              if r["group"] == "minority" and r["quantity"] == "false_records"]
    assert len(values) == 16 * 4 * 2  # every run, read through the registry's ledger view
    assert about["group"] == "minority"
    assert about["output_mean"] == pytest.approx(sum(values) / len(values), rel=1e-12)
    # the varied rates do not reach the minority's false records here (its own rate is set
    # by group): the same value at every point, said, with indices of 0 and no SALib warning
    assert about["output_sd"] == 0 and about["constant_output"]
    assert "same at every point" in " ".join(result.output.split())
    table = pq.read_table(sobol / "sensitivity-false_records-minority.parquet")
    assert all(v == 0.0 for v in table.column("ST").to_pylist())
    missing = runner.invoke(app, ["analyze", str(sobol), "--output", "false_records",
                                  "--group", "nobody"])
    assert missing.exit_code == 2 and "no values for 'nobody'" in missing.stderr
