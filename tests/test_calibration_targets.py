"""Calibration targets on named daily columns (``total``, ``level_on``), the checks that keep a
prediction from resting on what it predicts, and the naive baseline it must beat."""

from __future__ import annotations

import datetime
import math

import pytest
from typer.testing import CliRunner

from scsim.calibration import compare, naive_baseline, prediction_problems, skill
from scsim.cli import app
from scsim.engine.sim import simulate
from scsim.results import daily_table
from scsim.scenario import load_scenario
from scsim.scenario.load import ScenarioError
from scsim.scenario.model import CalibrationTarget

from conftest import R0

DATED = {"run.start": "2020-01-01", "run.days": 91, "population.size": 5000}


def _target(metric="total", on="2020-03-31", **more) -> dict:
    return {"metric": metric, "published": 10.0, "source": "test", "on": on, **more}


def _scenario(*targets, sources=None):
    sets = {**DATED, "calibration": {"targets": list(targets)}}
    if sources:
        sets["sources"] = sources
    return load_scenario(R0, sets).scenario


def test_total_and_level_on_sum_the_named_columns_of_the_window():
    s = _scenario(_target(columns=["entered_blacklist", "left_blacklist"],
                          **{"from": "2020-02-01"}),
                  _target("level_on", on="2020-02-15", columns=["blacklisted"]),
                  _target(columns=["denied_trips"]))
    result = simulate(s)
    rows = daily_table(result).to_pylist()
    window, level, trips = compare(result, s.calibration.targets, 3 * 5000)
    feb_1 = (datetime.date(2020, 2, 1) - datetime.date(2020, 1, 1)).days + 1  # day numbers
    feb_15 = feb_1 + 14
    assert window.simulated == 3 * sum(r["entered_blacklist"] + r["left_blacklist"]
                                       for r in rows if r["day"] >= feb_1)
    assert level.simulated == 3 * sum(r["blacklisted"] for r in rows if r["day"] == feb_15)
    assert trips.simulated == 3 * sum(r["denied_trips"] for r in rows)
    assert window.simulated > 0 and level.simulated > 0 and trips.simulated > 0


def test_share_on_is_the_named_columns_over_the_population_of_the_group_that_day():
    feb_15 = (datetime.date(2020, 2, 15) - datetime.date(2020, 1, 1)).days + 1
    s = _scenario(_target("share_on", on="2020-02-15", columns=["blacklisted"]),
                  _target("share_on", on="2020-02-15", columns=["blacklisted"], group="minority"))
    result = simulate(s)
    rows = [r for r in daily_table(result).to_pylist() if r["day"] == feb_15]
    everyone, group_b = compare(result, s.calibration.targets, 3 * 5000)  # (a share: unscaled)
    assert everyone.simulated == (sum(r["blacklisted"] for r in rows)
                                  / sum(r["population"] for r in rows))
    b = [r for r in rows if r["group"] == "minority"]
    assert group_b.simulated == b[0]["blacklisted"] / b[0]["population"]
    assert 0 < everyone.simulated < 1 and group_b.simulated != everyone.simulated


@pytest.mark.parametrize("target, message", [
    (_target(columns=["entered_blacklistt"]),
     "calibration.targets[0].columns[0]: unknown column 'entered_blacklistt'"),
    (_target(), "calibration.targets[0].columns: total sums daily.parquet columns"),
    (_target("level_on", columns=["blacklisted"], **{"from": "2020-02-01"}),
     "calibration.targets[0].from: level_on is a figure on one day"),
    (_target(columns=["blacklisted"], **{"from": "2020-04-01"}),
     "calibration.targets[0].from: from 2020-04-01 is after on 2020-03-31"),
    (_target(columns=["blacklisted"], **{"from": "2019-12-01"}),
     "calibration.targets[0].from: from 2019-12-01 is before the first reported day"),
    (_target("cumulative_travel_blocks", columns=["denied_trips"]),
     "calibration.targets[0].columns: cumulative_travel_blocks names its own figure"),
    (_target(columns=["mean_score"]), "unknown column 'mean_score'"),
    (_target("share_on", columns=["blacklisted"], **{"from": "2020-02-01"}),
     "calibration.targets[0].from: share_on is a figure on one day"),
])
def test_bad_column_targets_are_refused_naming_the_field(target, message):
    with pytest.raises(ScenarioError) as caught:
        _scenario(target)
    assert message in str(caught.value)


def test_a_mechanisms_column_is_a_target_only_where_the_mechanism_runs():
    with pytest.raises(ScenarioError, match="unknown column 'left_by_performance'"):
        _scenario(_target(columns=["left_by_performance"]))


def test_a_prediction_dated_inside_the_fit_or_resting_on_a_later_figure_is_refused(tmp_path):
    fitted = _target(on="2020-03-01", columns=["entered_blacklist"])
    early = _target(on="2020-02-01", columns=["entered_blacklist"], role="predicted")
    later = _target(on="2020-03-31", columns=["entered_blacklist"], role="predicted")
    assert prediction_problems(_scenario(fitted, later)) == []
    problems = prediction_problems(_scenario(fitted, early))
    assert problems == [("calibration.targets[1].on", (
        "a predicted figure on 2020-02-01 is dated before the last fitted one (2020-03-01): "
        "the fit has seen its years; fit it, or predict a later figure"))]
    source = {"measures.travel_ban.daily_trip_rate": {"ref": "a 2021 figure", "year": 2021}}
    (where, reason), = prediction_problems(_scenario(fitted, later, sources=source))
    assert where == "sources.measures.travel_ban.daily_trip_rate.year"
    assert "rests on a figure of 2021, after the fit's end (2020-03-01)" in reason
    # and the command refuses it in one line per problem, exit 2, before simulating anything
    path = tmp_path / "leaky.toml"
    path.write_text(f'extends = "{R0}"\nname = "leaky"\n[run]\nstart = 2020-01-01\ndays = 91\n'
                    '[sources]\n"measures.travel_ban.daily_trip_rate" = '
                    '{ ref = "x", year = 2021 }\n'
                    '[[calibration.targets]]\nmetric = "total"\ncolumns = ["entered_blacklist"]\n'
                    'on = 2020-03-01\npublished = 10\nsource = "t"\n'
                    '[[calibration.targets]]\nmetric = "total"\ncolumns = ["entered_blacklist"]\n'
                    'on = 2020-02-01\npublished = 10\nsource = "t"\nrole = "predicted"\n')
    result = CliRunner().invoke(app, ["calibrate", str(path), "--population", "1000"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in result.output
    assert "calibration.targets[1].on: a predicted figure on 2020-02-01" in lines[0]
    assert "sources.measures.travel_ban.daily_trip_rate.year" in lines[1]


def test_parts_are_fitted_and_checked_apart():
    """A part fitted to a later figure (the camps, to 2019's) neither moves the main part's
    fit's end nor lets its own predictions fall inside its own fit."""
    main = _target(on="2020-02-01", columns=["entered_blacklist"])
    main_predicted = _target(on="2020-03-01", columns=["entered_blacklist"], role="predicted")
    camps = _target("level_on", on="2020-03-15", columns=["blacklisted"], part="camps")
    camps_early = _target("level_on", on="2020-03-10", columns=["blacklisted"], part="camps",
                          role="predicted")
    later_2020 = {"measures.travel_ban.daily_trip_rate": {"ref": "x", "year": 2021,
                                                          "part": "camps"}}
    assert prediction_problems(_scenario(main, main_predicted, camps)) == []
    (where, reason), = prediction_problems(_scenario(main, main_predicted, camps, camps_early))
    assert where == "calibration.targets[3].on"
    assert "before the last fitted one of part 'camps' (2020-03-15)" in reason
    camps_predicted = {**camps_early, "on": "2020-03-31"}
    (where, reason), = prediction_problems(_scenario(main, main_predicted, camps,
                                                     camps_predicted, sources=later_2020))
    assert where == "sources.measures.travel_ban.daily_trip_rate.year"
    assert "after the fit's end of part 'camps' (2020-03-15)" in reason
    # the same source in the main part is checked against the main fit's end
    main_source = {"measures.travel_ban.daily_trip_rate": {"ref": "x", "year": 2021}}
    (_, reason), = prediction_problems(_scenario(main, main_predicted, sources=main_source))
    assert "after the fit's end (2020-02-01)" in reason


def test_a_source_naming_an_unknown_part_is_refused():
    typo = {"measures.travel_ban.daily_trip_rate": {"ref": "x", "part": "campz"}}
    with pytest.raises(ScenarioError) as caught:
        _scenario(_target(columns=["blacklisted"], part="camps"), sources=typo)
    assert ("sources.measures.travel_ban.daily_trip_rate.part: unknown part 'campz' "
            "(the calibration targets' parts: 'camps')") in str(caught.value)


def _dated(on: str, published: float, role="fitted", metric="cumulative_blacklist_entries"):
    return CalibrationTarget(metric=metric, published=published, source="t",
                             on=datetime.date.fromisoformat(on), role=role)


def test_the_naive_baseline_extends_the_line_through_the_last_two_fitted_figures():
    """The last two fitted figures grow exactly 10-fold in 1,000 days (an earlier one lies
    off that line and is not used): the baseline is that line at the predicted date, to
    rounding, whatever the published prediction."""
    start = datetime.date(2014, 1, 1)

    def on(days):
        return str(start + datetime.timedelta(days=days))

    targets = [_dated(on(0), 1.0), _dated(on(1000), 1000.0), _dated(on(2000), 10_000.0),
               _dated(on(2500), 5.0, "predicted"),
               _dated(on(2500), 5.0, "predicted", metric="cumulative_travel_blocks")]
    baseline = naive_baseline(targets)
    assert baseline[:3] == [None, None, None]  # (fitted figures have none)
    assert math.isclose(baseline[3], 10 ** 4.5, rel_tol=1e-9)
    assert baseline[4] is None  # (another series: no fitted figure)


def test_skill_is_the_mean_absolute_log_error_against_the_baseline():
    from scsim.calibration import Comparison

    targets = [_dated("2015-01-01", 100.0), _dated("2016-01-01", 200.0),
               _dated("2019-01-01", 1000.0, "predicted")]
    comparisons = [Comparison(t, v) for t, v in zip(targets, (100.0, 200.0, 1100.0), strict=True)]
    result = skill(comparisons, naive_baseline(targets))
    naive = naive_baseline(targets)[2]
    assert result.predictions == 1
    assert math.isclose(result.model_error, abs(math.log(1.1)))
    assert math.isclose(result.naive_error, abs(math.log(naive / 1000.0)))
    assert math.isclose(result.improvement, 1 - result.model_error / result.naive_error)


def test_a_trajectory_ends_on_the_figure_compare_gives():
    """The figure's line is the same computation as the table's number, on every day: on the
    target's own date the two are equal, exactly."""
    from scsim.calibration import trajectory

    targets = (_target(columns=["entered_blacklist"], **{"from": "2020-02-01"}),
               _target("cumulative_blacklist_entries"),
               _target("level_on", on="2020-02-15", columns=["blacklisted"]),
               _target("share_on", on="2020-03-01", columns=["blacklisted"], group="minority"))
    s = _scenario(*targets)
    result = simulate(s)
    for target, c in zip(s.calibration.targets, compare(result, s.calibration.targets, 15_000),
                         strict=True):
        line = trajectory(result, target, 15_000)
        assert line.dates[-1] == target.on and line.values[-1] == c.simulated, target.metric
    running = trajectory(result, s.calibration.targets[1], 15_000)
    assert (running.values[1:] >= running.values[:-1]).all()  # a running total never falls


def test_calibrate_draws_the_dated_series_and_refuses_a_plot_of_nothing(tmp_path):
    path = tmp_path / "dated.toml"
    path.write_text(f'extends = "{R0}"\nname = "dated"\n[run]\nstart = 2020-01-01\ndays = 91\n'
                    '[[calibration.targets]]\nmetric = "total"\ncolumns = ["entered_blacklist"]\n'
                    'on = 2020-02-01\npublished = 1000\nsource = "t"\n'
                    '[[calibration.targets]]\nmetric = "total"\ncolumns = ["entered_blacklist"]\n'
                    'on = 2020-03-01\npublished = 1500\nsource = "t"\n'
                    '[[calibration.targets]]\nmetric = "total"\ncolumns = ["entered_blacklist"]\n'
                    'on = 2020-03-31\npublished = 2000\nsource = "t"\nrole = "predicted"\n')
    stem = tmp_path / "figure"
    result = CliRunner().invoke(app, ["calibrate", str(path), "--population", "2000",
                                      "--plot", str(stem), "--seeds", "2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "figure.png").stat().st_size > 0
    svg = (tmp_path / "figure.svg").read_text()
    assert "2 seeds (range)" in svg and "naive forecast" in svg and "published, predicted" in svg
    per_year = tmp_path / "per_year.toml"
    per_year.write_text(f'extends = "{R0}"\nname = "per_year"\n[[calibration.targets]]\n'
                        'metric = "blacklist_entries_per_year"\npublished = 10\nsource = "t"\n')
    undated = CliRunner().invoke(app, ["calibrate", str(per_year), "--plot",
                                       str(tmp_path / "none")])
    assert undated.exit_code == 2
    assert "--plot: no calibration target has a date to draw" in undated.stderr
    assert not list(tmp_path.glob("none*"))
