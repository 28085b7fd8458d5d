"""``--posterior FIT``: runs and ensembles that draw their fitted values from a fit.

The fits here are written by hand (a fit folder's ``fit.json`` and
``particles.parquet``), so that what the draws must give is known exactly: two
particles far apart, or one.  ``test_fit.py`` tests the fits themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_fit import truth_scenario
from typer.testing import CliRunner

from scsim.cli import app
from scsim.experiments.posterior import read_posterior, with_draw

runner = CliRunner()
RATE = "behaviours.debt.daily_rate"
TRIPS = "measures.travel_ban.daily_trip_rate"


def write_fit(folder: Path, particles: list[tuple[float, float, float]],
              paths: tuple[str, ...] = (RATE, TRIPS)) -> Path:
    """A fit folder whose last generation holds ``particles`` (weight, then each path's
    value); an earlier generation, which no draw may take, holds other values."""
    folder.mkdir(parents=True)
    priors = [{"path": p, "shape": "uniform", "low": 0.0, "high": 1.0, "integer": False}
              for p in paths]
    (folder / "fit.json").write_text(json.dumps({"kind": "fit", "scenario_file": "truth.toml",
                                                 "priors": priors}))
    rows: dict[str, list] = {"generation": [], "particle": [], "weight": [], "distance": []}
    for p in paths:
        rows[p] = []
    for generation, chosen in ((0, [(1.0, *[0.9] * len(paths))]), (1, particles)):
        for i, (weight, *values) in enumerate(chosen):
            rows["generation"].append(generation)
            rows["particle"].append(i)
            rows["weight"].append(weight)
            rows["distance"].append(1.0)
            for p, v in zip(paths, values, strict=True):
                rows[p].append(v)
    pq.write_table(pa.table(rows), folder / "particles.parquet")
    return folder


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "truth.toml"
    path.write_text(truth_scenario([1.0] * 4))
    return path


def ensemble(scenario: Path, out: Path, *more: str):
    return runner.invoke(app, ["ensemble", str(scenario), "--out", str(out), "-q",
                               "--workers", "1", *more])


def test_draws_follow_the_weights_and_never_take_an_earlier_generation(tmp_path):
    """Over 4,000 replicates the heavier particle (weight 0.75) is drawn 3,000 times in
    expectation, with binomial sd sqrt(4000 x 0.75 x 0.25) = 27.4: the test allows 5 sd.
    A replicate's draw depends on the seed and its number only."""
    fit = read_posterior(write_fit(tmp_path / "fit", [(1.0, 0.001, 0.01), (3.0, 0.002, 0.02)]))
    draws = [fit.draw(11, r) for r in range(4000)]
    heavy = sum(k == 1 for k, _ in draws)
    assert abs(heavy - 3000) < 5 * math.sqrt(4000 * 0.75 * 0.25)
    assert {tuple(v.values()) for _, v in draws} == {(0.001, 0.01), (0.002, 0.02)}
    assert [fit.draw(11, r) for r in (5, 2)] == [draws[5], draws[2]]
    assert [fit.draw(12, r) for r in range(20)] != draws[:20]


def test_a_counterfactual_takes_a_drawn_value_only_where_it_kept_the_runs():
    run = {"behaviours": {"debt": {"daily_rate": 0.001}}, "measures": {"travel_ban": {
        "daily_trip_rate": 0.02}}, "channels": {"courts": {"detection": 1.0}}}
    other = json.loads(json.dumps(run))
    other["measures"]["travel_ban"]["daily_trip_rate"] = 0.05  # its own value: kept
    del other["channels"]["courts"]  # no such value: nothing set
    values = {RATE: 0.003, TRIPS: 0.04, "channels.courts.detection": 0.5}
    drawn = with_draw(other, values, shares_with=run)
    assert drawn["behaviours"]["debt"]["daily_rate"] == 0.003
    assert drawn["measures"]["travel_ban"]["daily_trip_rate"] == 0.05
    assert drawn["channels"] == {}
    assert with_draw(run, values)["channels"]["courts"]["detection"] == 0.5
    assert run["channels"]["courts"]["detection"] == 1.0  # (a copy: the dump is unchanged)


def test_an_ensemble_spreads_with_the_posterior_and_records_each_draw(tmp_path, scenario):
    """Two particles ten-fold apart in the default rate, equally weighted: the listed count
    of 5,000 citizens in a year is about 5000 x (1 - exp(-365 r)), some 840 or 4,190, with
    seed noise of a few percent; so the 90% interval over 20 replicates (each cluster drawn
    about 10 times) spans both clusters, while one particle alone gives an interval within
    +-15% of its median (Poisson noise of ~840 events is 3.5%; 4 sd)."""
    fit = write_fit(tmp_path / "fit", [(1.0, 0.0002, 0.02), (1.0, 0.002, 0.02)])
    result = ensemble(scenario, tmp_path / "e", "--replicates", "20", "--posterior", str(fit))
    assert result.exit_code == 0, result.output
    summary = {r["quantity"]: r for r in pq.read_table(tmp_path / "e" / "ensemble.parquet")
               .to_pylist() if r["group"] == "all"}
    listed = summary["sanctioned"]
    assert listed["p05"] < 1.3 * 5000 * (1 - math.exp(-365 * 0.0002))
    assert listed["p95"] > 0.8 * 5000 * (1 - math.exp(-365 * 0.002))
    assert listed["p05"] <= listed["median"] <= listed["p95"]
    rows = pq.read_table(tmp_path / "e" / "results.parquet").to_pylist()
    for row in rows:  # each replicate ran the values it drew, and says which
        ran = json.loads((tmp_path / "e" / f"replicate={row['replicate']}" / "summary.json")
                         .read_text())["scenario"]
        assert ran["behaviours"]["debt"]["daily_rate"] == row[RATE]
        assert row[RATE] == [0.0002, 0.002][row["posterior_particle"]]
    assert {r["posterior_particle"] for r in rows} == {0, 1}
    manifest = json.loads((tmp_path / "e" / "ensemble.json").read_text())
    assert manifest["posterior"]["paths"] == [RATE, TRIPS]
    assert manifest["posterior"]["generation"] == 1
    page = (tmp_path / "e" / "report.html").read_text()
    assert "posterior and seeds" in page and "90% interval" in page
    # one particle: the seeds' spread only
    single = write_fit(tmp_path / "one", [(1.0, 0.0002, 0.02)])
    result = ensemble(scenario, tmp_path / "s", "--replicates", "20", "--posterior", str(single))
    assert result.exit_code == 0, result.output
    alone = next(r for r in pq.read_table(tmp_path / "s" / "ensemble.parquet").to_pylist()
             if r["group"] == "all" and r["quantity"] == "sanctioned")
    assert 0.85 * alone["median"] < alone["p05"] and alone["p95"] < 1.15 * alone["median"]


def test_a_posterior_ensemble_is_the_same_with_two_workers_and_grows_consistently(
        tmp_path, scenario):
    """Replicate R draws the same particle whatever the workers and the replicate count."""
    fit = write_fit(tmp_path / "fit", [(1.0, 0.0002, 0.02), (2.0, 0.002, 0.01)])
    a = ensemble(scenario, tmp_path / "a", "--replicates", "4", "--posterior", str(fit))
    b = runner.invoke(app, ["ensemble", str(scenario), "--out", str(tmp_path / "b"), "-q",
                            "--workers", "2", "--replicates", "6", "--posterior", str(fit)])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    skip = {"wall_time_s", "simulate_s", "citizen_days_per_s", "peak_memory_bytes",
            "started_at", "threads", "run"}

    def rows(out):
        return [{k: v for k, v in r.items() if k not in skip}
                for r in pq.read_table(out / "results.parquet").to_pylist()]

    assert rows(tmp_path / "a") == rows(tmp_path / "b")[:4]
    # a resume with another posterior is refused, naming it
    other = write_fit(tmp_path / "other", [(1.0, 0.0003, 0.02)])
    again = ensemble(scenario, tmp_path / "a", "--replicates", "4", "--posterior", str(other),
                     "--resume")
    assert again.exit_code == 2 and "posterior" in again.output, again.output


def test_a_paired_posterior_ensemble_pairs_each_draw_with_its_own_world(tmp_path, scenario):
    fit = write_fit(tmp_path / "fit", [(1.0, 0.0002, 0.02), (1.0, 0.002, 0.02)])
    result = ensemble(scenario, tmp_path / "p", "--replicates", "3", "--posterior", str(fit),
                      "--counterfactual", "none")
    assert result.exit_code == 0, result.output
    for r in range(3):
        summary = json.loads((tmp_path / "p" / f"replicate={r}" / "summary.json").read_text())
        assert (summary["counterfactual"]["scenario"]["behaviours"]
                == summary["scenario"]["behaviours"])


def test_bad_posteriors_are_one_line_and_write_nothing(tmp_path, scenario):
    result = ensemble(scenario, tmp_path / "e", "--posterior", str(tmp_path))
    assert result.exit_code == 2 and "not a finished scsim fit" in result.output
    fit = write_fit(tmp_path / "fit", [(1.0, 0.001)], paths=("behaviours.debt.daily_rat",))
    result = ensemble(scenario, tmp_path / "e", "--posterior", str(fit))
    assert result.exit_code == 2, result.output
    assert "the fitted value behaviours.debt.daily_rat: names no value" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "e").exists()
    empty = tmp_path / "empty"
    write_fit(empty, [])
    table = pq.read_table(empty / "particles.parquet")
    pq.write_table(table.filter(np.zeros(table.num_rows, dtype=bool)), empty / "particles.parquet")
    result = runner.invoke(app, ["run", str(scenario), "--posterior", str(empty), "-q",
                                 "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "no generation yet" in result.output
    assert not (tmp_path / "r").exists()


def test_a_run_takes_one_draw_and_its_report_says_so(tmp_path, scenario):
    fit = write_fit(tmp_path / "fit", [(1.0, 0.0002, 0.02), (1.0, 0.002, 0.03)])
    out = tmp_path / "r"
    result = runner.invoke(app, ["run", str(scenario), "--posterior", str(fit), "--out",
                                 str(out), "--report"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    drawn = summary["posterior"]
    expected = read_posterior(fit).draw(7, 0)  # the file's run.seed, replicate 0
    assert drawn["particle"] == expected[0] and drawn["values"] == expected[1]
    assert summary["scenario"]["behaviours"]["debt"]["daily_rate"] == expected[1][RATE]
    row = pq.read_table(out / "run.parquet").to_pylist()[0]
    assert row["posterior_particle"] == expected[0]
    assert "seed noise under this draw only" in " ".join(result.output.split())
    assert 'id=\'posterior-draw\'' in (out / "report.html").read_text()
