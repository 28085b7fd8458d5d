"""School priority: children of parents in high grades are given a place (the reward side).

The seed's Dandan: her high score helps her son into a top school.  On the
admission day of school admission (``measures.school_admission``), a child
who applies (the same draw as there) and is not refused for a listed parent
is given priority with ``share`` if an adult of the household holds one of
``grades`` that day (a draw keyed by the child, SCHOOL_PRIORITY and the
year).  Grades are not kept per day, so each adult's years in a priority
grade on the admission day are marked as its grade changes (one bit a year:
runs of at most 63 years).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import FLOW, OUT, Flow, Mechanism, Q, S, unknown_grades
from scsim.mechanisms.school_admission import SCHOOL  # (the same application draw)
from scsim.quantities import Quantity
from scsim.scenario.days import in_force_day
from scsim.scenario.fields import Probability, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        ADULT,
        CHILD,
        NEVER,
        S_AGE,
        S_GRADE,
        S_GROUP,
        S_HOUSEHOLD,
        S_ID,
        S_START,
        TURNOVER,
        _tally,
        citizen_key,
        parent_listed,
        uniform,
    )
    from scsim.scenario.model import Scenario

SCHOOL_PRIORITY = 16
"""Random-number purpose: does priority give an applying child a place (counter = year)."""
MAX_YEARS = 63


class SchoolPriority(Strict):
    """Children of parents in high grades are given school places first."""

    grades: Annotated[list[str], Field(min_length=1)]
    """Grades (of ``scheme.grades``) whose holders' children have priority."""
    share: Probability
    """Probability that priority gives an applying child a place it would not have had."""


class Params(NamedTuple):
    day: int
    """The admission day of the year (school admission's); 0: no priority."""
    applying: np.ndarray
    """(periods,) school admission's applying share, in the period of the admission day."""
    priority: np.ndarray
    """(grades,) int64 1 if the grade gives priority."""
    share: float
    refusing_from: int
    """The first day school admission refuses (a child with a listed parent is not given
    priority then)."""


def params(s: Scenario, tables) -> Params:
    priority, school = s.measures.school_priority, s.measures.school_admission
    grades = [g.name for g in s.all_grades()]
    if priority is None or school is None:
        return Params(0, 0.0, np.zeros(len(grades) + 1, dtype=np.int64), 0.0, 1)
    # (one more entry, 0: the "no grade" of a citizen whose scheme has none)
    return Params(school.day_of_year, school.applying_share,
                  np.array([g in priority.grades for g in grades] + [False], dtype=np.int64),
                  priority.share, in_force_day(s, "measures.school_admission"))


def mark(state, m, first_day, last_day, admission_day):
    """Mark the years whose admission day falls in ``first_day .. last_day`` (the member held
    a priority grade at the end of each of those days)."""
    if last_day < admission_day:
        return
    # (the years as a range: a while loop on both bounds made LLVM emit a 128-bit division
    # that numba cannot link)
    first_year = max(0, (first_day - admission_day + 364) // 365)
    last_year = min(MAX_YEARS, (last_day - admission_day) // 365)
    for year in range(first_year, last_year + 1):
        state[m, S.priority_years] |= 1 << year


def member_started(P: Params, m, state) -> None:
    state[m, S.priority_years] = 0
    state[m, S.priority_since] = NEVER
    if P.day > 0 and P.priority[state[m, S_GRADE]]:  # the start grade, from the first day
        state[m, S.priority_since] = max(state[m, S_START] if TURNOVER else 1, 1)


def grade_changed(P: Params, m, day, grade, new_grade, state) -> None:
    """Held through the end of ``day - 1``, or from the end of ``day``."""
    if P.day > 0 and P.priority[grade] != P.priority[new_grade]:
        if P.priority[grade]:
            mark(state, m, state[m, S.priority_since], day - 1, P.day)
            state[m, S.priority_since] = NEVER
        else:
            state[m, S.priority_since] = day


def died(P: Params, m, day, state) -> None:
    if state[m, S.priority_since] < NEVER:
        mark(state, m, state[m, S.priority_since], day - 1, P.day)
        state[m, S.priority_since] = NEVER


def neighbourhood_closed(P: Params, size, ob, seed_key, horizon, state, outcomes, spells,
                         spell_lo, spell_hi, flows, t) -> None:
    """An applying child who is not refused has priority if a parent held a priority grade
    that day, and a place through it with ``share``."""
    if P.day > 0:
        for member in range(size):
            if state[member, S_AGE] != CHILD and state[member, S.priority_since] < NEVER:
                mark(state, member, state[member, S.priority_since], horizon, P.day)
        reported = t.report_day if t.report_day < NEVER else 1
        for child in range(size):
            if state[child, S_AGE] != CHILD:
                continue
            child_key = citizen_key(seed_key, state[child, S_ID])
            year = 0
            while year * 365 + P.day <= horizon:
                on = year * 365 + P.day
                if (on >= reported
                        and uniform(child_key, SCHOOL, 0, year) < P.applying[t.period_of_day[on]]
                        and (on < P.refusing_from or not parent_listed(
                            spells, spell_lo, spell_hi, ob, state, child, on))):
                    for parent in range(size):
                        if (state[parent, S_HOUSEHOLD] == state[child, S_HOUSEHOLD]
                                and state[parent, S_AGE] == ADULT
                                and (state[parent, S.priority_years] >> year) & 1):
                            if uniform(child_key, SCHOOL_PRIORITY, 0, year) < P.share:
                                g = state[child, S_GROUP]
                                flows[on, g, FLOW.school_places_by_priority] += 1
                                outcomes[ob + child, OUT.children_advantaged] += 1
                            break
                year += 1


def ledger(m, g, run, counterfactual, ledger, examples, citizen) -> None:
    _tally(ledger, examples, citizen, g, Q.children_advantaged,
                   run[m, OUT.children_advantaged] - counterfactual[m, OUT.children_advantaged])


def _describe(s: Scenario) -> str:
    p = s.measures.school_priority
    return (f"school priority: {p.share:.0%} of applying children of parents in grade "
            f"{', '.join(g.upper() for g in p.grades)} are given a place" if p else "")


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    yield from unknown_grades(s, "measures.school_priority.grades",
                              s.measures.school_priority.grades)
    if s.measures.school_admission is None:
        yield "measures.school_priority", (
            "priority is given at school admission: add measures.school_admission (its day "
            "and applying share)")
    if s.run.days > (MAX_YEARS + 1) * 365:
        yield "measures.school_priority", f"a run with it may last at most {MAX_YEARS + 1} years"


MECHANISM = Mechanism(
    check=check,
    name="school_priority",
    title="school priority",
    what="on the admission day, applying children of parents in high grades are given places",
    plan={"grade_changed": ("the years an adult holds a priority grade on the admission day "
                            "are marked", ()),
          "neighbourhood_closed": ("an applying child not refused, with a parent in a priority "
                                   "grade that day, is given a place", ("SCHOOL",
                                                                         "SCHOOL_PRIORITY"))},
    section="measures.school_priority",
    active=lambda s: s.measures.school_priority is not None,
    params=params,
    hooks={"member_started": member_started, "grade_changed": grade_changed, "died": died,
           "neighbourhood_closed": neighbourhood_closed, "ledger": ledger},
    helpers=(mark,),
    purposes={"SCHOOL_PRIORITY": SCHOOL_PRIORITY},
    state=("priority_years", "priority_since"),
    flows=(Flow("school_places_by_priority",
                "school places given to children for a parent's high grade",
                "given a school place for a parent's high grade"),),
    outcomes=("children_advantaged",),
    quantities=(Quantity("children_advantaged", False, "benefit", "admissions", False,
                         "school places given for a parent's high grade (a reward to some, "
                         "taken from other children), beyond the counterfactual's",
                         relative=True, daily=("school_places_by_priority",
                                               "-counterfactual_school_places_by_priority")),),
    counterfactual_flows=(("counterfactual_school_places_by_priority",
                           "school_places_by_priority"),),
    describe=_describe,
    inputs=("measures.school_priority.*", "measures.school_admission.*", "scheme.grades"),
    per_period=("applying",),
)
