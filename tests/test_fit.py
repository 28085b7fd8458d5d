"""``scsim fit``: ABC-SMC posteriors (pyabc) of a scenario's fitted values on Dask.

A small synthetic truth: citizens default on debts at a daily rate and are
listed for good; the listed are refused trips attempted at a daily rate.
Four figures (listings and trips refused, at mid-year and at the end) are
made by known values, and the fit must find them again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from scsim.cli import app

runner = CliRunner()
TRUTH = {"behaviours.debt.daily_rate": 0.0005, "measures.travel_ban.daily_trip_rate": 0.01}
TARGETS = [("cumulative_blacklist_entries", [], "2020-06-30"),
           ("cumulative_blacklist_entries", [], "2020-12-30"),
           ("total", ["denied_trips"], "2020-06-30"),
           ("total", ["denied_trips"], "2020-12-30")]


def truth_scenario(published: list[float], *, fit: str | None = None, error: str = "0.01",
                   extra: str = "") -> str:
    """The synthetic scenario, its targets ``published``, its [calibration.fit] ``fit``."""
    targets = ",\n".join(
        f'  {{ metric = "{metric}", columns = {columns!r}, on = {on}, published = {value!r}, '
        f'source = "synthetic truth", error = {error}, error_reason = "synthetic: the '
        f'sample\'s own noise only" }}'.replace("'", '"').replace('sample"s', "sample's")
        for (metric, columns, on), value in zip(TARGETS, published, strict=True))
    fit = fit if fit is not None else '''
"behaviours.debt.daily_rate" = { prior = "log-uniform" }
"measures.travel_ban.daily_trip_rate" = { prior = "log-uniform" }
'''
    return f'''name = "fit-truth"
[run]
start = 2020-01-01
days = 365
seed = 7
[population]
size = 5000
[behaviours.debt]
kind = "offence"
daily_rate = 0.001
[channels.courts]
records = ["debt"]
[scheme]
start_score = 1000
min_score = 0
max_score = 1000
blacklist_behaviours = ["debt"]
points = {{ debt = 0 }}
[measures.travel_ban]
daily_trip_rate = 0.02
[sources]
"behaviours.debt.daily_rate" = {{ assumption = true, low = 0.0001, high = 0.002 }}
"measures.travel_ban.daily_trip_rate" = {{ assumption = true, low = 0.001, high = 0.1 }}
{extra}
[calibration]
targets = [
{targets}
]
[calibration.fit]
{fit}
'''


def synthetic_figures(seed: int) -> list[float]:
    """The four figures the truth makes under ``seed`` (the data's own noise)."""
    import tomllib

    from scsim.calibration import compare
    from scsim.engine.sim import simulate
    from scsim.scenario.load import validate_scenario

    raw = tomllib.loads(truth_scenario([1.0] * 4))
    raw["behaviours"]["debt"]["daily_rate"] = TRUTH["behaviours.debt.daily_rate"]
    raw["measures"]["travel_ban"]["daily_trip_rate"] = TRUTH[
        "measures.travel_ban.daily_trip_rate"]
    raw["run"]["seed"] = seed
    s = validate_scenario(raw, "truth").scenario
    return [c.simulated for c in compare(simulate(s), s.calibration.targets, 5000)]


@pytest.fixture(scope="module")
def figures() -> list[float]:
    return synthetic_figures(101)


def _write(tmp_path: Path, text: str, name: str = "truth.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _fit(path: Path, out: Path, *more: str):
    return runner.invoke(app, ["fit", str(path), "--out", str(out), "-q", *more])


def _posterior(out: Path):
    particles = pq.read_table(out / "particles.parquet").to_pandas()
    return particles[particles.generation == particles.generation.max()]


@pytest.mark.parametrize(("fit", "extra", "message"), [
    ('"measures.travel_ban.daily_trip_rate" = { prior = "uniform", low = 0.001, high = 1.5 }',
     "", "calibration.fit.measures.travel_ban.daily_trip_rate: the prior's high 1.5 is outside "
         "the field's range"),
    ('"scheme.blacklist_behaviours" = { prior = "uniform", low = 0, high = 1 }', "",
     "calibration.fit.scheme.blacklist_behaviours: scheme.blacklist_behaviours is not a number "
     "field"),
    ('"behaviours.debt.dialy_rate" = { prior = "uniform", low = 0, high = 1 }', "",
     "calibration.fit.behaviours.debt.dialy_rate: names no value of the scenario"),
    ('"scheme.start_score" = { prior = "uniform" }', "",
     "calibration.fit.scheme.start_score: no plausible range"),
    ('"behaviours.debt.daily_rate" = { prior = "log-uniform", low = 0.0, high = 0.01 }', "",
     "a log-uniform prior needs low > 0"),
    ('"behaviours.debt.daily_rate" = { prior = "normal" }', "",
     "calibration.fit.behaviours.debt.daily_rate.prior"),
])
def test_a_bad_fit_section_is_one_line_and_writes_nothing(tmp_path, figures, fit, extra,
                                                          message):
    path = _write(tmp_path, truth_scenario(figures, fit=fit, extra=extra))
    result = _fit(path, tmp_path / "fit")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "fit").exists()


def test_a_target_of_an_unknown_metric_and_a_missing_error_are_refused(tmp_path, figures):
    text = truth_scenario(figures).replace('metric = "total"', 'metric = "totl"', 1)
    result = _fit(_write(tmp_path, text), tmp_path / "fit")
    assert result.exit_code == 2 and "calibration.targets[2].metric" in result.output
    text = truth_scenario(figures).replace(
        ', error = 0.01, error_reason = "synthetic: the sample\'s own noise only"', "", 1)
    result = _fit(_write(tmp_path, text), tmp_path / "fit")
    assert result.exit_code == 2
    assert "calibration.targets[0].error: scsim fit weighs each fitted target" in result.output
    assert not (tmp_path / "fit").exists()


def test_bad_controls_are_refused(tmp_path, figures):
    path = _write(tmp_path, truth_scenario(figures))
    result = _fit(path, tmp_path / "fit", "--particles", "1", "--min-acceptance", "1.5")
    assert result.exit_code == 2
    assert "--particles: at least 2 (got 1)" in result.output
    assert "--min-acceptance: a rate in [0, 1) (got 1.5)" in result.output
    assert not (tmp_path / "fit").exists()


def test_a_fit_is_the_same_with_one_worker_or_two(tmp_path, figures):
    """Each evaluation draws from a seed of its own (fit seed, generation, job), and a
    generation is the first accepted in job order: so the workers' count and the order in
    which they finish change nothing."""
    path = _write(tmp_path, truth_scenario(figures))
    for workers in ("1", "2"):
        result = _fit(path, tmp_path / f"w{workers}", "--particles", "20", "--generations",
                      "2", "--workers", workers)
        assert result.exit_code == 0, result.output
    one = pq.read_table(tmp_path / "w1" / "particles.parquet")
    assert one.num_rows == 40
    assert one.equals(pq.read_table(tmp_path / "w2" / "particles.parquet"))
    generations = pq.read_table(tmp_path / "w1" / "generations.parquet").to_pylist()
    assert [g["generation"] for g in generations] == [0, 1]
    assert generations[1]["epsilon"] < generations[0]["epsilon"]
    assert all(0 < g["acceptance_rate"] <= 1 and 1 <= g["ess"] <= 20 + 1e-9 for g in generations)


def _generations_done(database: Path) -> int:
    try:
        with sqlite3.connect(database) as db:
            return db.execute("select count(*) from populations where t >= 0").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_fit_killed_by_sigkill_resumes_from_its_last_generation(tmp_path, figures):
    """kill -9 after the first generation is stored; --resume continues from it, and the
    result is the uninterrupted fit's, particle for particle."""
    path = _write(tmp_path, truth_scenario(figures))
    controls = ["--particles", "30", "--generations", "4", "--workers", "1", "-q"]
    command = [sys.executable, "-m", "scsim", "fit", str(path), *controls]
    killed = subprocess.Popen([*command, "--out", str(tmp_path / "killed")],
                              start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while _generations_done(tmp_path / "killed" / "pyabc.db") < 1:
            assert killed.poll() is None, "the fit ended before it could be killed"
            assert time.monotonic() < deadline, "no generation stored in 300 s"
            time.sleep(0.2)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # the fit and its cluster's processes
        killed.wait()
    assert 1 <= _generations_done(tmp_path / "killed" / "pyabc.db") < 4
    resumed = _fit(path, tmp_path / "killed", *controls, "--resume")
    assert resumed.exit_code == 0, resumed.output
    whole = _fit(path, tmp_path / "whole", *controls)
    assert whole.exit_code == 0, whole.output
    a = pq.read_table(tmp_path / "killed" / "particles.parquet")
    assert a.num_rows == 4 * 30
    assert a.equals(pq.read_table(tmp_path / "whole" / "particles.parquet"))
    # a resume that changes what the particles mean is refused
    changed = _fit(path, tmp_path / "whole", "--particles", "31", "--generations", "4",
                   "--resume")
    assert changed.exit_code == 2 and "--resume: particles differs" in changed.output


def test_the_posterior_recovers_the_truth_on_synthetic_data(tmp_path):
    """Over five synthetic data sets (the truth under five seeds), the posterior's 90%
    interval holds each true value in at least 3 of the 5.  Were the intervals exact, the
    count would be Binomial(5, 0.9): 3 or more with probability 0.991, so the test fails by
    chance about once in a hundred runs of a correct fit for each value (the seeds are
    fixed, so it either always passes or never); ABC's tolerance only widens the intervals
    (the coverage can only be higher)."""
    from scsim.experiments.fit import weighted_quantiles

    covered = dict.fromkeys(TRUTH, 0)
    for data_seed in range(1, 6):
        path = _write(tmp_path, truth_scenario(synthetic_figures(data_seed)), f"d{data_seed}.toml")
        out = tmp_path / f"fit{data_seed}"
        result = _fit(path, out, "--particles", "60", "--generations", "4")
        assert result.exit_code == 0, result.output
        last = _posterior(out)
        for name, truth in TRUTH.items():
            low, high = weighted_quantiles(last[name].to_numpy(), last.weight.to_numpy(),
                                           (0.05, 0.95))
            covered[name] += low <= truth <= high
            assert high / low < 4.0, (name, low, high)  # (narrower than the prior's 20-fold)
    assert all(n >= 3 for n in covered.values()), covered


def test_predict_gives_every_target_its_intervals_and_query_sees_the_particles(tmp_path,
                                                                              figures):
    """The posterior predictive: every target, with median within its 50% and 90% intervals
    (q05 <= q25 <= median <= q75 <= q95), from draws x seeds simulations; and the fit's
    particles are a view of ``scsim query``."""
    path = _write(tmp_path, truth_scenario(figures))
    out = tmp_path / "runs" / "fit"
    assert _fit(path, out, "--particles", "20", "--generations", "2").exit_code == 0
    result = runner.invoke(app, ["predict", str(out), "--draws", "6", "--seeds", "2", "-q"])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out / "prediction.parquet").to_pylist()
    assert [r["target"] for r in rows] == [0, 1, 2, 3]
    for r in rows:
        assert r["simulations"] == 12
        assert r["q05"] <= r["q25"] <= r["median"] <= r["q75"] <= r["q95"]
        assert r["inside_90"] == (r["q05"] <= r["expected"] <= r["q95"])
    assert pq.read_table(out / "predictive.parquet").num_rows == 6 * 2 * 4
    query = runner.invoke(app, ["query", "SELECT fit, generation, count(*) AS n, "
                                "round(sum(weight), 6) AS w FROM particles GROUP BY ALL "
                                "ORDER BY generation", "--root", str(tmp_path / "runs"),
                                "--format", "csv"])
    assert query.exit_code == 0, query.output
    assert query.output.split() == ['"fit","generation","n","w"', '"fit",0,20,1',
                                   '"fit",1,20,1']
    # the page and the figures: published points against the predictive bands, over dates
    page = (out / "report.html").read_text()
    assert page.count("<tr data-target=") == 4 and 'id="figure-posterior-predictive"' in page
    from scsim.experiments.report import fit_figures

    figure = fit_figures(out)["posterior_predictive"]
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert len(panels) == 2  # listings, trips refused: two dates each
    for ax, members in zip(panels, (rows[:2], rows[2:]), strict=True):
        outer = ax.collections[0].get_paths()[0].vertices[:, 1]  # the 90% band's outline
        assert min(outer) == pytest.approx(min(r["q05"] for r in members))
        assert max(outer) == pytest.approx(max(r["q95"] for r in members))
        points = sorted(float(line.get_ydata()[0]) for line in ax.lines
                        if line.get_marker() == "o")
        assert points == pytest.approx(sorted(r["expected"] for r in members))
    plotted = runner.invoke(app, ["plot", str(out), "--out", str(tmp_path / "figs")])
    assert plotted.exit_code == 0, plotted.output
    assert {p.name for p in (tmp_path / "figs").iterdir()} == {
        "posterior.png", "posterior.svg", "posterior_predictive.png",
        "posterior_predictive.svg"}
    again = runner.invoke(app, ["report", str(out)])
    assert again.exit_code == 2 and "exists" in again.output, again.output


def test_predict_refuses_a_folder_that_is_not_a_fit(tmp_path):
    result = runner.invoke(app, ["predict", str(tmp_path)])
    assert result.exit_code == 2 and "not a finished scsim fit" in result.output
