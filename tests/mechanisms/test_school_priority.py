"""School priority for children of parents in high grades: limiting and exact cases."""

from __future__ import annotations

import pytest

from scsim.engine.sim import simulate
from scsim.engine.trace import Tracer
from scsim.results import daily_table
from scsim.scenario.load import ScenarioError

from mechanism_base import scenario

ADMISSION = 200  # the admission day; the 400-day run has one (year 0)
FAMILIES = {  # one adult and one child a household: a child's parent is the adult
    "population__size": 1200,
    "population__households": {"types": [{"adults": 1, "children": 1, "share": 1.0}],
                               "neighbourhood_size": 12, "contacts_per_citizen": 0},
    "scheme__grades": [{"name": "a", "min_score": 1000}, {"name": "b", "min_score": 0}],
    "measures__school_admission": {"day_of_year": ADMISSION, "applying_share": 0.8},
}


def _with(share: float, **changes):
    return scenario(**{**FAMILIES, "measures__school_priority": {"grades": ["a"],
                                                                 "share": share}, **changes})


def _sum(table, column: str) -> int:
    return int(table.column(column).to_numpy().sum())


def test_a_share_of_zero_gives_no_place_and_changes_nothing():
    plain = daily_table(simulate(scenario(**FAMILIES)))
    zero = daily_table(simulate(_with(0.0)))
    assert zero.select(plain.column_names).equals(plain)
    assert _sum(zero, "school_places_by_priority") == 0


def test_with_everyone_in_the_priority_grade_every_applicant_gets_a_place():
    """No points: every score stays 1000, every adult in grade a, nobody listed."""
    table = daily_table(simulate(_with(1.0, scheme__points={})))
    applications = _sum(table, "school_applications")
    assert applications > 300
    assert _sum(table, "school_admissions_refused") == 0
    assert _sum(table, "school_places_by_priority") == applications


def test_half_the_eligible_are_given_a_place():
    """Share 0.5 with everyone eligible: Binomial(applications, 0.5), within 5 sd."""
    table = daily_table(simulate(_with(0.5, scheme__points={}, population__size=6000)))
    n = _sum(table, "school_applications")
    assert abs(_sum(table, "school_places_by_priority") - n / 2) <= 5 * (n / 4) ** 0.5


def test_a_child_has_priority_exactly_when_its_parent_holds_the_grade_that_day():
    """Scores fall with every record, so grades change: traced, each applying child who is not
    refused is given a place (share 1) exactly when its parent is in grade a at the end of
    the admission day."""
    s = _with(1.0)
    tracer = Tracer(s, None, 0)
    seen = held_a = 0
    for child in range(1, 400, 2):  # (households are numbered adult, child)
        trace = tracer.trace(child)
        assert trace.me.age == "child" and trace.household[0].age == "adult"
        flows, layout = trace.flows, trace.kernel_layout
        if not flows[ADMISSION, layout.flows.index("school_applications")]:
            continue
        if flows[ADMISSION, layout.flows.index("school_admissions_refused")]:
            continue
        parent = tracer.trace(trace.household[0].citizen)
        in_a = parent.levels[ADMISSION, layout.first_grade] == 1
        place = flows[ADMISSION, layout.flows.index("school_places_by_priority")] == 1
        assert place == in_a, child
        seen += 1
        held_a += in_a
    assert seen > 50 and 0 < held_a < seen


def test_priority_needs_school_admission_and_known_grades():
    with pytest.raises(ScenarioError, match="unknown grade 'aa'"):
        scenario(**{**FAMILIES, "measures__school_priority": {"grades": ["aa"], "share": 1}})
    with pytest.raises(ScenarioError, match=r"add measures\.school_admission"):
        scenario(**{**FAMILIES, "measures__school_admission": None,
                    "measures__school_priority": {"grades": ["a"], "share": 1}})
