"""Deposits waived use by use: exact and expected counts from the grade levels."""

from __future__ import annotations

import numpy as np
import pytest

from scsim.engine.sim import simulate
from scsim.results import daily_table
from scsim.scenario.load import ScenarioError

from mechanism_base import scenario

GRADES = [{"name": "a", "min_score": 1000}, {"name": "b", "min_score": 0}]


def _with(rate: float, **changes):
    return scenario(**{
        "scheme__grades": GRADES,
        "behaviours__ride": {"kind": "lawful", "daily_rate": rate},  # recorded by no channel
        "measures__deposits": {"services": [{"behaviour": "ride", "grades": ["a"],
                                             "deposit_yuan": 300}]},
        **changes})


def _grade_a_at_the_end_of_the_day_before(result, table) -> np.ndarray:
    """Scored citizens in grade a at the end of each day before days 1..T (day 0: everyone,
    all starting at 1000), summed over groups."""
    groups = len(result.scenario.population.groups)
    level = table.column("grade_a").to_numpy().reshape(-1, groups).sum(axis=1)
    return np.concatenate([[int(result.scored.sum())], level[:-1]])


def test_a_use_every_day_is_waived_for_everyone_in_the_grade():
    result = simulate(_with(1.0))
    table = daily_table(result)
    groups = len(result.scenario.population.groups)
    waived = table.column("deposits_waived").to_numpy().reshape(-1, groups).sum(axis=1)
    expected = _grade_a_at_the_end_of_the_day_before(result, table)
    assert expected[-1] < expected[0]  # citizens do leave grade a
    assert (waived == expected).all()
    assert (table.column("deposits_waived_yuan").to_numpy()
            == 300 * table.column("deposits_waived").to_numpy()).all()


def test_waivers_are_the_citizens_in_the_grade_times_the_use_rate():
    """Each citizen-day in grade a is a Bernoulli(rate) use: the total is within 5 sd of
    rate x (citizen-days in grade a), sd = sqrt(n rate (1 - rate))."""
    rate = 0.05
    result = simulate(_with(rate))
    table = daily_table(result)
    days_in_a = _grade_a_at_the_end_of_the_day_before(result, table).sum()
    waived = table.column("deposits_waived").to_numpy().sum()
    assert abs(waived - rate * days_in_a) <= 5 * (days_in_a * rate * (1 - rate)) ** 0.5


def test_services_must_name_a_behaviour_and_grades_that_exist():
    with pytest.raises(ScenarioError, match="unknown behaviour 'rid'"):
        _with(0.1, measures__deposits={"services": [{"behaviour": "rid", "grades": ["a"],
                                                     "deposit_yuan": 1}]})
    with pytest.raises(ScenarioError, match="unknown grade 'aa'"):
        _with(0.1, measures__deposits={"services": [{"behaviour": "ride", "grades": ["aa"],
                                                     "deposit_yuan": 1}]})
