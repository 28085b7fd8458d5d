"""School admission: a child is refused the school they apply to when a parent is listed.

Once a year, on ``day_of_year``, each child of a household applies with
probability ``applying_share`` (a draw keyed by (child, SCHOOL, year)); the
application is refused if an adult of the household is on the blacklist
that day.  Children are never scored; the harm is theirs, for their parents'
listing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import FLOW, OUT, Flow, Mechanism, Q, class_traits
from scsim.quantities import Quantity
from scsim.scenario.days import in_force_day
from scsim.scenario.fields import Probability, Strict, Yuan

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        ADULT,
        CHILD,
        S_AGE,
        S_GROUP,
        S_HOUSEHOLD,
        S_ID,
        _tally,
        citizen_key,
        uniform,
    )
    from scsim.scenario.model import Scenario

ADULT_BAND = 0
"""The age band of a class that holds working-age adults (``class_traits``)."""
SCHOOL = 11
"""Random-number purpose: does a child apply for a school place in a given year (counter =
year)."""


class SchoolAdmission(Strict):
    """Children whose parents are blacklisted are refused admission to the school they apply to."""

    day_of_year: Annotated[int, Field(ge=1, le=365)] = 244
    """Day of each simulated year on which admissions are decided (244: 1 September)."""
    applying_share: Probability = 0.25
    """Share of children who apply for a school place in a given year."""
    yuan_per_refused_place: Yuan = 0.0
    """What a refused school place costs the family, in yuan (what a listed parent responds
    to: ``scsim.mechanisms.response``)."""


class Params(NamedTuple):
    day: int
    """Day of the year admissions are decided; 0: no school admission measure."""
    share: np.ndarray
    """(periods,) share of children who apply, in the period of the admission day."""
    from_day: int
    """The first day refusals happen (1, unless a schedule says later)."""


def params(s: Scenario, tables) -> Params:
    school = s.measures.school_admission
    if school is None:
        return Params(0, 0.0, 1)
    return Params(school.day_of_year, school.applying_share,
                  in_force_day(s, "measures.school_admission"))


def neighbourhood_closed(P: Params, size, ob, seed_key, horizon, state, outcomes, spells,
                         spell_lo, spell_hi, flows, t) -> None:
    """Each child applies in a year with some probability; refused if a parent is listed."""
    if P.day > 0:
        for child in range(size):
            if state[child, S_AGE] != CHILD:
                continue
            child_key = citizen_key(seed_key, state[child, S_ID])
            child_group = state[child, S_GROUP]
            year = 0
            while year * 365 + P.day <= horizon:
                on = year * 365 + P.day
                share = P.share[t.period_of_day[on]]
                if uniform(child_key, SCHOOL, 0, year) < share:
                    flows[on, child_group, FLOW.school_applications] += 1
                    refused = False
                    for row in range(spell_lo, spell_hi if on >= P.from_day else spell_lo):
                        parent = spells[row, 0] - ob
                        if (
                            state[parent, S_HOUSEHOLD] == state[child, S_HOUSEHOLD]
                            and state[parent, S_AGE] == ADULT
                            and spells[row, 1] <= on
                            and on <= spells[row, 2]
                        ):
                            refused = True
                            break
                    if refused:
                        flows[on, child_group, FLOW.school_admissions_refused] += 1
                        outcomes[ob + child, OUT.children_penalised] += 1
                year += 1


def ledger(m, g, run, counterfactual, ledger, examples, citizen) -> None:
    _tally(ledger, examples, citizen, g, Q.children_penalised,
                   run[m, OUT.children_penalised] - counterfactual[m, OUT.children_penalised])


def daily_cost(s: Scenario, tables) -> np.ndarray:
    """A listed adult's expected refusals a day, times what one costs: the children of their
    household (their mean over adults' households) times the share applying, once a year.
    Elders are not the parents the measure looks at (classes end with the age band)."""
    school = s.measures.school_admission
    types = s.population.households.types if s.population.households else []
    adults = sum(t.share * t.adults for t in types)
    children_per_adult = (sum(t.share * t.adults * t.children for t in types) / adults
                          if adults > 0 else 0.0)
    per_day = children_per_adult * school.applying_share / 365 * school.yuan_per_refused_place
    adult = class_traits(tables)[2] == ADULT_BAND
    return np.where(adult, per_day, 0.0)


def _describe(s: Scenario) -> str:
    school = s.measures.school_admission
    return (f"{school.applying_share:.0%} of children apply for a school place on day "
            f"{school.day_of_year} of each year; refused if a parent is blacklisted"
            if school else "")


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    households = s.population.households
    if households is None or not any(t.children for t in households.types):
        yield "measures.school_admission", (
            "no household has children: add population.households with children > 0")


MECHANISM = Mechanism(
    check=check,
    acts_on_blacklist=True,
    name="school_admission",
    title="school admission",
    what="on its day each year applying children are refused if a parent is listed",
    section="measures.school_admission",
    active=lambda s: s.measures.school_admission is not None,
    params=params,
    hooks={"neighbourhood_closed": neighbourhood_closed, "ledger": ledger},
    purposes={"SCHOOL": SCHOOL},
    flows=(Flow("school_applications", "children applying for a school place",
                "applied for a school place"),
           Flow("school_admissions_refused", "applications refused for a parent's listing",
                "school admission REFUSED because of a parent's listing")),
    outcomes=("children_penalised",),
    quantities=(Quantity("children_penalised", False, "harm", "admissions", False,
                         "school admissions refused because of a parent's grade, beyond the "
                         "counterfactual's", relative=True,
                         daily=("school_admissions_refused",
                                "-counterfactual_school_admissions_refused")),),
    counterfactual_flows=(("counterfactual_school_admissions_refused",
                           "school_admissions_refused"),),
    describe=_describe,
    daily_cost=daily_cost,
    inputs=("measures.school_admission.*",),
    always_reported=True,
    can_start_later=True,
    schedulable=("measures.school_admission.applying_share",),
    per_period=("share",),
)
