"""Population turnover: ageing, births and deaths (``population.turnover``).

Exact identities (the population and the scored follow births, deaths and
comings of age day by day), and counts against their analytic expectations
within 5 standard deviations (each derivation in the test's docstring).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from scsim.engine.sim import simulate
from scsim.results import daily_table
from scsim.scenario.load import ScenarioError, validate_scenario

N = 60_000
DAYS = 730


def _world(turnover: dict, households: bool = True, **extra) -> dict:
    raw = {
        "name": "turnover", "run": {"days": DAYS, "seed": 5},
        "population": {"size": N, "groups": [{"name": "a", "share": 0.7},
                                             {"name": "b", "share": 0.3}],
                       "turnover": turnover},
        "behaviours": {"x": {"daily_rate": 0.01}},
        "channels": {"c": {"records": ["x"], "detection": 0.5}},
        "scheme": {"start_score": 100, "min_score": 0, "max_score": 200, "points": {"x": -10},
                   "blacklist_below": 80},
        "measures": {"travel_ban": {"daily_trip_rate": 0.01},
                     "speech_suspension": {"days": 30, "trigger": "blacklist"}},
    }
    raw["behaviours"]["talk"] = {"kind": "speech", "daily_rate": 0.001}
    if households:
        raw["population"]["households"] = {
            "types": [{"adults": 2, "children": 2, "share": 0.5},
                      {"adults": 1, "elders": 1, "share": 0.5}],
            "neighbourhood_size": 12, "contacts_per_citizen": 2}
    raw.update(extra)
    return raw


def _daily(raw: dict):
    s = validate_scenario(copy.deepcopy(raw)).scenario
    result = simulate(s)
    return s, result, daily_table(result).to_pandas()


def _within(observed: float, expected: float, variance: float) -> None:
    assert abs(observed - expected) <= 5 * math.sqrt(variance), (observed, expected, variance)


BUSY = {"deaths_per_1000": {"child": 5, "adult": 20, "elder": 80}, "births_per_1000": 30}


def test_population_and_scored_follow_births_deaths_and_comings_of_age_exactly():
    _, result, daily = _daily(_world(BUSY))
    for k, (_, rows) in enumerate(daily.groupby("group", sort=False)):
        population = rows.population.to_numpy()
        assert population[0] == result.population[k] + rows.births.iloc[0] - rows.deaths.iloc[0]
        assert (np.diff(population) == (rows.births - rows.deaths).to_numpy()[1:]).all()
        scored = rows.scored.to_numpy()
        change = (rows.came_of_age - rows.deaths_of_scored).to_numpy()
        assert scored[0] == result.scored[k] + change[0]
        assert (np.diff(scored) == change[1:]).all()
        assert rows.births.sum() > 0 and rows.deaths.sum() > 0 and rows.came_of_age.sum() > 0
        # whoever is listed is alive and scored; a death ends the listing
        assert (rows.blacklisted <= rows.scored).all()
        assert rows.entered_blacklist.sum() - rows.left_blacklist.sum() == rows.blacklisted.iloc[-1]
        assert (rows.suspended_accounts <= rows.scored).all()


def test_nobody_acts_after_death_or_before_coming_of_age():
    """Each scored citizen alive at the end of day d commits x on day d with probability p
    (no deterrence or adaptation here), the dead never, children not yet of age never: the
    total is Binomial(sum_d scored_d, p), within 5 sd of its mean."""
    _, _, daily = _daily(_world(BUSY))
    citizen_days = daily.scored.sum()
    _within(daily.x_committed.sum(), citizen_days * 0.01, citizen_days * 0.01 * 0.99)


def test_deaths_of_adults_at_a_constant_hazard():
    """Adults only (no households), the same hazard h as adults and elders: each dies within
    the run with p = 1 - exp(-h T) (the death day is the day after the death time), so
    deaths are Binomial(N, p)."""
    h = 50 / 1000 / 365
    _, _, daily = _daily(_world({"deaths_per_1000": {"adult": 50, "elder": 50}},
                                households=False))
    p = 1 - math.exp(-h * DAYS)
    _within(daily.deaths.sum(), N * p, N * p * (1 - p))
    assert daily.deaths.sum() == daily.deaths_of_scored.sum()


def test_children_come_of_age_at_the_age_the_scenario_says():
    """Children's ages are uniform on [0, adult_age) years and none dies: a child comes of
    age within the run when older than adult_age - T, with p = T / (365 adult_age); so the
    count is Binomial(children, p), for adult_age 18 and for 10."""
    for adult_age in (18, 10):
        _, result, daily = _daily(_world({"adult_age": adult_age}))
        children = int(result.population.sum() - result.scored.sum())
        p = DAYS / (365 * adult_age)
        _within(daily.came_of_age.sum(), children * p, children * p * (1 - p))
        assert daily.deaths.sum() == 0 and daily.births.sum() == 0


def test_births_at_the_crude_birth_rate():
    """Births: b per 1,000 citizens a year, each adult having one on a day with probability
    q = b / 1000 / 365 / (adults' share of citizens); adults only here, and nobody dies, so
    births are Binomial(adult-days, q).  Adult ages are uniform on [18, 119) years, so a
    share f = T / (101 x 365) turn elder (and stop) within the run, on average halfway:
    adult-days = N T (1 - f / 2)."""
    turnover = {"births_per_1000": 20, "elder_age": 119, "max_age": 120}
    _, _, daily = _daily(_world(turnover, households=False))
    q = 20 / 1000 / 365
    f = DAYS / (101 * 365)
    adult_days = N * DAYS * (1 - f / 2)
    _within(daily.births.sum(), adult_days * q, adult_days * q * (1 - q))


def test_without_turnover_nothing_changes():
    raw = _world(BUSY)
    del raw["population"]["turnover"]
    _, _, daily = _daily(raw)
    assert "births" not in daily.columns
    assert (daily.groupby("group").population.nunique() == 1).all()


@pytest.mark.parametrize("change, message", [
    ({"adult_age": 60}, "need adult_age < elder_age < max_age, got 60, 60, 90"),
    ({"births_per_1000": 10, "adult_age": 1},
     "a run of 730 days is longer than adult_age (1 years): children born in it would come "
     "of age"),
])
def test_bad_turnover_is_refused(change, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_scenario(_world(change))


def test_a_traced_citizen_who_dies_has_no_event_after_death():
    from scsim.engine.trace import Tracer
    from scsim.story import tell

    s = validate_scenario(_world({"deaths_per_1000": {"adult": 400, "elder": 400}},
                                 households=False)).scenario
    tracer = Tracer(s)
    for citizen in range(200):
        story = tell(tracer.trace(citizen))
        died = [day for day, _, text in story.events if text == "DIED"]
        if died:
            assert all(day <= died[0] for day, _, _ in story.events)
            assert story.events[-1][2] == "DIED" or story.events[-1][0] == died[0]
            break
    else:
        pytest.fail("no traced citizen died")


def test_a_run_folder_with_turnover_reads_back(tmp_path):
    """The stored run is checked on reading: its day-0 citizens (the ledger's) are the first
    day's population less that day's births plus its deaths."""
    import tomli_w
    from typer.testing import CliRunner

    from scsim.cli import app
    from scsim.io.stored_run import read_run

    raw = _world(BUSY)
    raw["population"]["size"] = 3000
    toml = tmp_path / "turnover.toml"
    toml.write_text(tomli_w.dumps(raw))
    result = CliRunner().invoke(app, ["run", str(toml), "--out", str(tmp_path / "run"),
                                      "--quiet", "--report"])
    assert result.exit_code == 0, result.output
    run = read_run(tmp_path / "run")
    assert run.daily["births"].sum() > 0
