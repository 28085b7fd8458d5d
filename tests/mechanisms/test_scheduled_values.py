"""Values of mechanisms that change on a date (``[[schedule]] set`` of a safeguard, a measure,
deterrence).

A hook reads such a value at the period of the day an event happens, so for
every schedulable path of every module: a schedule that sets what already is
changes nothing (bit-identical to no schedule); a change on day D leaves every
day before D bit-identical and shows from D on; and where the new value makes
the outcome certain, the counts from D on are exactly what it implies.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from test_modules import SECTIONS, WORLD

from scsim.engine.sim import simulate
from scsim.mechanisms import MECHANISMS
from scsim.results import daily_table
from scsim.scenario.schedule import effective_value

from mechanism_base import scenario

START = datetime.date(2020, 1, 1)
D = 151  # the day of the change (2020-05-30), before the admission day (200)
CHANGE = (START + datetime.timedelta(days=D - 1)).isoformat()
MODULES = ("response", "appeals", "credit_repair", "deterrence", "expiry", "human_review",
           "judgments", "loan_denial", "rail_ban", "school_admission", "speech_suspension",
           "travel_ban")
"""(Later sections win where two set one table: the response's judgments are judgments'.)"""
EVERYTHING = {key: value for name in MODULES for key, value in SECTIONS[name].items()}
NEW_VALUE = {  # path -> the value from D on
    "scheme.appeals.contest_share": 0.0,
    "scheme.appeals.success_rate": 0.0,
    "scheme.appeals.delay_days": 5,
    "scheme.credit_repair.share": 0.0,
    "scheme.credit_repair.delay_days": 5,
    "scheme.retention_days": 10,
    "deterrence.own_record": 3.0,
    "deterrence.own_sanction": 6.0,
    "deterrence.household_sanction": 4.0,
    "deterrence.contact_sanction": 3.0,
    "deterrence.offence_sensitivity": 2.0,
    "deterrence.speech_sensitivity": 2.0,
    "deterrence.awareness": 3.0,
    "deterrence.shaming": 3.0,
    "scheme.human_review.false_record_catch": 1.0,
    "scheme.judgments.performance_share": 0.3,
    "scheme.judgments.delay_days": 5,
    "scheme.judgments.anyway_share": 0.0,
    "scheme.judgments.delist_unable_share": 1.0,
    "scheme.judgments.delist_unable_delay_days": 3,
    "scheme.judgments.fixed_term_share": 1.0,
    "scheme.judgments.fixed_term_days": 5,
    "measures.loan_denial.daily_application_rate": 1.0,
    "measures.rail_ban.daily_trip_rate": 1.0,
    "measures.school_admission.applying_share": 0.0,
    "measures.speech_suspension.days": 100,
    "measures.travel_ban.daily_trip_rate": 1.0,
    "response.default_elasticity": 0.0,
}


def _run(schedule: list[dict] | None):
    changes = {**WORLD, **EVERYTHING, "run__start": START.isoformat()}
    if schedule is not None:
        changes["schedule"] = schedule
    return daily_table(simulate(scenario(**changes)))


def _rows_before(table) -> int:
    return (D - 1) * len(set(table.column("group").to_pylist()))


@pytest.fixture(scope="module")
def without():
    return _run(None)


def test_every_schedulable_value_of_a_module_has_a_case():
    assert set(NEW_VALUE) == {p for m in MECHANISMS for p in m.schedulable}


def test_setting_every_value_to_what_it_is_changes_nothing(without):
    s = scenario(**{**WORLD, **EVERYTHING, "run__start": START.isoformat()})
    same = {path: effective_value(s, path) for path in NEW_VALUE}
    assert _run([{"date": CHANGE, "set": same}]).equals(without)


@pytest.mark.parametrize("path", sorted(NEW_VALUE))
def test_a_value_changed_on_a_date_acts_from_that_date_only(path, without):
    changed = _run([{"date": CHANGE, "set": {path: NEW_VALUE[path]}}])
    before = _rows_before(without)
    assert changed.slice(0, before).equals(without.slice(0, before))
    assert not changed.slice(before).equals(without.slice(before))


def _from_d(table, column: str) -> np.ndarray:
    return table.column(column).to_numpy()[_rows_before(table):]


@pytest.mark.parametrize("path, column", [
    ("measures.travel_ban.daily_trip_rate", "denied_trips"),
    ("measures.loan_denial.daily_application_rate", "loans_denied"),
    ("measures.rail_ban.daily_trip_rate", "denied_rail_trips"),
])
def test_an_attempt_every_day_is_refused_on_every_listed_day(path, column):
    """With an attempt every day from D, the refusals of each day and group from D on are
    exactly the listed then (a spell that began before D included); before D fewer."""
    table = _run([{"date": CHANGE, "set": {path: 1.0}}])
    listed = _from_d(table, "blacklisted")
    assert listed.sum() > 0
    assert (_from_d(table, column) == listed).all()


def test_review_that_catches_every_false_record_lets_none_count():
    table = _run([{"date": CHANGE, "set": {"scheme.human_review.false_record_catch": 1.0}}])
    before = _rows_before(table)
    assert table.column("false_records").to_numpy()[:before].sum() > 0
    assert _from_d(table, "false_records").sum() == 0
    assert _from_d(table, "false_records_caught_by_review").sum() > 0


def test_no_contest_from_a_date_means_no_appeal_from_it():
    table = _run([{"date": CHANGE, "set": {"scheme.appeals.contest_share": 0.0}}])
    assert table.column("appeals").to_numpy()[:_rows_before(table)].sum() > 0
    assert _from_d(table, "appeals").sum() == 0


def test_no_child_applies_once_the_share_is_zero(without):
    table = _run([{"date": CHANGE, "set": {"measures.school_admission.applying_share": 0.0}}])
    assert _from_d(without, "school_applications").sum() > 0
    assert _from_d(table, "school_applications").sum() == 0
