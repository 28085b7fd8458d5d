"""Deposit waiver: a reward, citizens of high grades need no deposit.

Hospitals, rentals and public bikes waive the deposit for high grades; the
level ``deposit_waived`` counts, per day and group, the citizens holding a
grade that earns it.  It follows the grade, so it draws no random numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import LEVEL, Level, Mechanism, unknown_grades
from scsim.scenario.days import in_force_day
from scsim.scenario.fields import Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import S_GRADE
    from scsim.scenario.model import Scenario


class DepositWaiver(Strict):
    """A reward: citizens of high grades need no deposit (hospitals, rentals, bikes)."""

    grades: list[str] = Field(min_length=1)
    """Grades that earn the reward."""


class Params(NamedTuple):
    rewarded: np.ndarray
    """(grades,) int64 1 if the grade earns the waiver."""
    from_day: int
    """The first day deposits are waived (1, unless a schedule says later)."""


def params(s: Scenario, tables) -> Params:
    waiver = s.measures.deposit_waiver
    rewarded = set(waiver.grades) if waiver is not None else set()
    # (one more entry, 0: the "no grade" of a citizen whose scheme has none)
    return Params(np.array([g.name in rewarded for g in s.all_grades()] + [False],
                           dtype=np.int64),
                  in_force_day(s, "measures.deposit_waiver") if waiver is not None else 1)


def grade_changed(P: Params, day, g, grade, new_grade, levels) -> None:
    """A move between grades may gain or lose the waiver (once it is in force)."""
    gained = P.rewarded[new_grade] - P.rewarded[grade]
    if gained != 0 and day >= P.from_day:
        levels[day, g, LEVEL.deposit_waived] += gained


def period_started(P: Params, m, g, day, state, levels) -> None:
    """Coming into force: whoever holds a rewarded grade now has the waiver from today."""
    if day == P.from_day and P.rewarded[state[m, S_GRADE]]:
        levels[day, g, LEVEL.deposit_waived] += 1


def died(P: Params, m, g, day, state, levels) -> None:
    """The reward ends at death."""
    if day >= P.from_day and P.rewarded[state[m, S_GRADE]]:
        levels[day, g, LEVEL.deposit_waived] -= 1


def came_of_age(P: Params, m, g, day, state, levels) -> None:
    """A child scored from today holds the start grade, which may earn the waiver (day 0
    too, with pilots: a waiver in force from day 1 is held on day 0, as ``start_levels``)."""
    if max(day, 1) >= P.from_day and P.rewarded[state[m, S_GRADE]]:
        levels[day, g, LEVEL.deposit_waived] += 1


def start_levels(P: Params, start_grade: int) -> dict[str, int]:
    """Day 0: the start grade's waiver, if it is in force from the first day."""
    if not len(P.rewarded) or P.from_day > 1:
        return {"deposit_waived": 0}
    return {"deposit_waived": int(P.rewarded[start_grade])}


def _describe(s: Scenario) -> str:
    waiver = s.measures.deposit_waiver
    return ("no deposit for grades " + ", ".join(g.upper() for g in waiver.grades)
            if waiver else "")


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    yield from unknown_grades(s, "measures.deposit_waiver.grades",
                              s.measures.deposit_waiver.grades)


MECHANISM = Mechanism(
    check=check,
    name="deposit_waiver",
    title="deposit waiver",
    what="high grades need no deposit",
    section="measures.deposit_waiver",
    active=lambda s: s.measures.deposit_waiver is not None,
    params=params,
    hooks={"grade_changed": grade_changed, "period_started": period_started, "died": died,
           "came_of_age": came_of_age},
    plan={"grade_changed": ("a move between grades may gain or lose the waiver", ()),
          "period_started": ("coming into force, those of rewarded grades are waived", ())},
    levels=(Level("deposit_waived", "citizens holding a grade that waives deposits",
                  "deposits waived (a reward for the grade)", "deposit waiver lost"),),
    start_levels=start_levels,
    describe=_describe,
    inputs=("measures.deposit_waiver.*",),
    always_reported=True,
    can_start_later=True,
)
