"""Response to the sanctions' cost: the listed pay to leave the list, the rest default less.

Each sanction of the listed declares what one listed day costs a listed
citizen, in yuan (``Mechanism.daily_cost``: refused trips and loans times
what a refusal costs, the income the employment penalty takes, the school
places a parent's listing costs their children).  Their sum over the
scenario's sanctions, plus what being named in public costs where the list is
shown (``naming_yuan_per_listed_day``, in ``naming_regions``: the list's own
cost, not a sanction's), ``C`` per class of citizen, is what people respond to,
relative to ``reference_daily_cost_yuan``: the cost of the sanctions in force
when the responses were observed.  Two decisions respond, each with one
elasticity:

* **Performing a judgment** (``scheme.judgments``): of the unwilling
  debtors, ``anyway_share`` pay whatever the list does; the share paying
  under its pressure, ``performance_share - anyway_share`` at the reference
  cost, scales as ``(C / reference) ** performance_elasticity`` (capped so that
  no more than all of them pay).  The same uniform decides, so a cheaper set
  of sanctions makes a subset of the same debtors pay.
* **Defaulting** (the listing behaviours, ``scheme.blacklist_behaviours``):
  a candidate default is committed with probability ``exp(-default_elasticity
  * r * C / reference)``, where ``r`` is the chance that the channel
  watching it records it where the citizen lives (what they perceive of
  being listed for it).  The same ACCEPT draw decides, so a cheaper set of
  sanctions adds defaults to the same citizens' histories, never removes one.

An elasticity of 0 leaves a run bit-identical to one without this section,
and a sanction whose declared cost is 0 changes no decision.  Sanctions are
counted from the run's start wherever their section is present: a cost that
a schedule brings in on a date is not yet dated (``docs/odd.md``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import Mechanism, class_traits
from scsim.scenario.fields import MAX_YUAN, Elasticity, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.scenario.model import Scenario


class Response(Strict):
    """How people respond to what the list's sanctions cost a listed citizen."""

    reference_daily_cost_yuan: Annotated[float, Field(gt=0.0, le=MAX_YUAN)]
    """The expected cost of one listed day, in yuan, under the sanctions in force when the
    responses were observed (``scheme.judgments.performance_share`` and the listing
    behaviours' rates): the costs are taken relative to it."""
    performance_elasticity: Elasticity = 0.0
    """Elasticity of the share of unwilling debtors who perform under the list's pressure
    with respect to the daily cost of the sanctions they face."""
    default_elasticity: Elasticity = 0.0
    """How strongly the expected cost of being listed deters a listing behaviour: it is
    committed at its rate times exp(-default_elasticity x the chance of its being recorded x
    cost / reference)."""
    naming_yuan_per_listed_day: Annotated[float, Field(ge=0.0, le=MAX_YUAN)] = 0.0
    """What being named in public as listed costs a listed citizen, in yuan a listed day
    (shame, standing, the informal help of neighbours): a cost of the list itself, added to
    the sanctions' where the list is shown."""
    naming_regions: list[str] | None = Field(default=None, min_length=1)
    """The regions where the list is shown in public (every region if absent)."""


class Params(NamedTuple):
    lists: np.ndarray
    """(behaviours,) int64 1 if a record of the behaviour lists the citizen."""
    elasticity: np.ndarray
    """(periods,) ``default_elasticity`` in force (0: no response)."""
    cost_ratio: np.ndarray
    """(periods, classes) the listed daily cost of a class over the reference."""


def cost_ratio(s: Scenario, tables) -> np.ndarray:
    """(classes,) the daily cost of the scenario's sanctions to a listed citizen of each class,
    over the reference cost (zeros without a ``response`` section)."""
    from scsim.mechanisms import listed_daily_cost

    if s.response is None:
        return np.zeros(tables.n_classes)
    r = s.response
    return (listed_daily_cost(s, tables) + naming_cost(s, tables)) / r.reference_daily_cost_yuan


def naming_cost(s: Scenario, tables) -> np.ndarray:
    """(classes,) what being named in public costs a listed citizen of each class a day: the
    naming cost where the list is shown (a pilot's citizens are where its region is), else 0."""
    r = s.response
    # the class regions (engine.tables.class_regions): the regions, then each pilot's own
    names = [c.name for c in s.population.regions] + [p.region for p in s.pilots.values()]
    shown = np.array([r.naming_regions is None or name in r.naming_regions for name in names])
    return np.where(shown[class_traits(tables)[1]], r.naming_yuan_per_listed_day, 0.0)


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    from scsim.text import known_names

    regions = [c.name for c in s.population.regions]
    for k, name in enumerate(s.response.naming_regions or ()):
        if name not in regions:
            yield (f"response.naming_regions[{k}]",
                   f"unknown region {name!r} (known: {known_names(regions)})")


def params(s: Scenario, tables) -> Params:
    listing = set(s.scheme.blacklist_behaviours)
    lists = np.array([b in listing for b in s.behaviours], dtype=np.int64)
    elasticity = s.response.default_elasticity if s.response is not None else 0.0
    return Params(lists, elasticity, cost_ratio(s, tables))


def thinning(P: Params, m, k, c, b, kind, day, state, risk, p, t) -> None:
    """A would-be defaulter weighs what being listed would cost them, as they perceive it."""
    if P.lists[b] and P.elasticity[k] > 0.0:
        p *= math.exp(-P.elasticity[k] * t.record_prob[k, c, b] * P.cost_ratio[k, c])


def _describe(s: Scenario) -> str:
    r = s.response
    if r is None:
        return ""
    naming = ""
    if r.naming_yuan_per_listed_day > 0:
        where = ("" if r.naming_regions is None
                 else f" in {', '.join(r.naming_regions)}")
        naming = (f" (and being named in public{where}, "
                  f"{r.naming_yuan_per_listed_day:,.2f} yuan a listed day)")
    return (f"people respond to what the sanctions cost a listed citizen{naming}, relative "
            f"to {r.reference_daily_cost_yuan:,.2f} yuan a listed day: the unwilling debtors "
            f"paying under pressure with elasticity {r.performance_elasticity:g}, "
            f"defaults deterred with {r.default_elasticity:g}")


MECHANISM = Mechanism(
    name="response",
    title="response to the sanctions' cost",
    what="the expected cost of being listed deters listing behaviours (and, in "
         "scheme.judgments, moves unwilling debtors to pay)",
    section="response",
    active=lambda s: s.response is not None,
    params=params,
    hooks={"thinning": thinning},
    describe=_describe,
    check=check,
    inputs=("response.*",),
    schedulable=("response.default_elasticity",),
    per_period=("elasticity", "cost_ratio"),
)
