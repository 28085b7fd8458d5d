"""Mechanisms that come into force on a date (``[[schedule]] in_force``).

For each module that allows it: in force from the first day is the same run as
without the schedule entry (bit-identical); in force from day D leaves every day
before D identical to the same mechanism from a later day D2 (neither acts yet,
and nothing is drawn for it), and it acts between D and D2.
"""

from __future__ import annotations

import datetime

import pytest
from test_modules import SECTIONS, WORLD

from scsim.engine.sim import simulate
from scsim.mechanisms import MECHANISMS
from scsim.results import daily_table
from scsim.scenario.load import ScenarioError

from mechanism_base import scenario

START = datetime.date(2020, 1, 1)
D, D2 = 151, 301  # days of the run
LATER = {m.name for m in MECHANISMS if m.can_start_later}
SECTIONS = {**SECTIONS, "employment_penalty": {
    "measures__employment_penalty": {"levels_down": 1},
    "population__income_levels": [{"name": "low", "share": 0.5, "daily_income": 50},
                                  {"name": "high", "share": 0.5, "daily_income": 150}]}}
ACTS_ON = {  # a column that shows the module acting
    "deposit_waiver": "deposit_waived", "employment_penalty": "income_lost",
    "loan_denial": "loans_denied", "rail_ban": "denied_rail_trips",
    "school_admission": "school_admissions_refused",
    "speech_suspension": "suspended_accounts", "travel_ban": "denied_trips",
}


ALL_MEASURES = {  # every module that can start later, at once: one kernel for every case
    key: value for name in sorted(LATER) for key, value in SECTIONS[name].items()}
ALL_MEASURES["measures__speech_suspension"] = {"days": 20, "trigger": "blacklist"}


def _with(name: str, from_day: int | None, **extra):
    """All six measures, ``name`` coming into force on ``from_day`` (the others from day 1:
    they act alike in the runs compared, so the comparison is of ``name`` alone)."""
    changes = {**WORLD, **ALL_MEASURES, "run__start": START.isoformat(), **extra}
    section = next(m.section for m in MECHANISMS if m.name == name)
    if from_day is not None:
        when = START + datetime.timedelta(days=from_day - 1)
        changes["schedule"] = [{"date": when.isoformat(), "in_force": [section]}]
    return scenario(**changes)


def test_the_modules_that_can_start_later_are_the_measures():
    assert set(ACTS_ON) == LATER


@pytest.mark.parametrize("name", sorted(LATER))
def test_in_force_from_the_first_day_is_the_same_run(name):
    always = daily_table(simulate(_with(name, None)))
    from_start = daily_table(simulate(_with(name, 1)))
    assert from_start.equals(always)


@pytest.mark.parametrize("name", sorted(LATER))
def test_in_force_from_a_date_acts_only_from_that_date(name):
    early = daily_table(simulate(_with(name, D)))
    late = daily_table(simulate(_with(name, D2)))
    groups = len(set(early.column("group").to_pylist()))
    before = (D - 1) * groups
    assert early.slice(0, before).equals(late.slice(0, before))
    column = ACTS_ON[name]
    assert sum(early.column(column).to_pylist()[:before]) == 0
    between = slice(before, (D2 - 1) * groups)
    assert sum(early.column(column).to_pylist()[between]) > 0
    assert sum(late.column(column).to_pylist()[between]) == 0


def test_a_mechanism_comes_into_force_once_and_must_exist():
    for schedule, message in (
        ([{"date": "2020-03-01", "in_force": ["measures.travel_bann"]}],
         "unknown mechanism section 'measures.travel_bann'"),
        ([{"date": "2020-03-01", "in_force": ["scheme.appeals"]}],
         "scheme.appeals cannot come into force on a date yet"),
        ([{"date": "2020-03-01", "in_force": ["measures.loan_denial"]}],
         "measures.loan_denial is not in the scenario"),
        ([{"date": "2020-03-01", "in_force": ["measures.travel_ban"]},
          {"date": "2020-04-01", "in_force": ["measures.travel_ban"]}],
         "measures.travel_ban already comes into force in schedule[0]"),
    ):
        with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
            scenario(**{"run__start": "2020-01-01", "scheme__appeals": {
                "contest_share": 0.5, "success_rate": 0.5, "delay_days": 10},
                "schedule": schedule})
