"""A factory for sanctions that refuse the listed something they try on a day: a trip, a loan.

Such a sanction is one rate and one random-number purpose: on a day with the
rate the citizen tries (a draw keyed by (citizen, purpose, day), so a paired
counterfactual meets the same attempts), and on every day of a blacklisted
spell, from the day the sanction is in force, the attempt is refused.  Its
outputs are a daily flow of refusals, the per-citizen count, and a ledger
quantity: the refusals beyond the counterfactual's, an exact per-citizen
difference.  The travel ban and loan denial are two calls of
``refusal_on_listed_days``; a passport refusal would be a third, with a
section of its own in the scenario schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from scsim.mechanisms.base import FLOW, OUT, Flow, Mechanism, Q
from scsim.numbers import per_million
from scsim.quantities import Quantity
from scsim.scenario.days import in_force_day

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        SCHEDULED,
        _tally,
        refused_on_listed_days,
        refused_on_listed_days_by_period,
    )
    from scsim.scenario.model import Scenario


class Params(NamedTuple):
    rate: np.ndarray
    """(periods, classes) daily probability of an attempt (0: the sanction is off)."""
    from_day: int
    """The first day the sanction is in force (1, unless a schedule says later)."""
    period_of_day: np.ndarray
    """The period of each day (the tables'), for the rate of each listed day."""
    purpose: int
    """The random-number purpose of the attempts (unique across scsim)."""


def spell_closed(P: Params, key, first, last_day, m, ob, g, c, flows, outcomes) -> None:
    """Each blacklisted day the sanction is in force, an attempt made that day is refused."""
    if SCHEDULED:  # (the generator keeps the branch of the kernel's kind)
        outcomes[ob + m, OUT.refused] += refused_on_listed_days_by_period(
            key, P.purpose, max(first, P.from_day), last_day, P.rate[:, c], P.period_of_day,
            flows, g, FLOW.refused)
    else:
        outcomes[ob + m, OUT.refused] += refused_on_listed_days(
            key, P.purpose, max(first, P.from_day), last_day, P.rate[0, c], flows, g,
            FLOW.refused)


def ledger(m, g, run, counterfactual, ledger, examples, citizen) -> None:
    _tally(ledger, examples, citizen, g, Q.refused,
           run[m, OUT.refused] - counterfactual[m, OUT.refused])


def refusal_on_listed_days(*, name: str, title: str, what: str, section: str, rate: str,
                           purpose: tuple[str, int], flow: Flow, quantity: Quantity,
                           attempts: str, cost: str, always_reported: bool = False
                           ) -> Mechanism:
    """The mechanism of a sanction that refuses the listed an attempt, read from the scenario
    section ``section`` (e.g. ``measures.travel_ban``) whose field ``rate`` is the daily
    probability of an attempt and ``cost`` the yuan one refusal costs the citizen.  ``flow``
    counts the refusals per day (and names the per-citizen outcome ``quantity.name``);
    ``attempts`` says in the description what is attempted ("a trip", "a loan applied
    for")."""
    path = section.split(".")
    purpose_name, purpose_number = purpose

    def settings(s: Scenario) -> Any:
        value: Any = s
        for part in path:
            value = getattr(value, part)
        return value

    def params(s: Scenario, tables) -> Params:
        it = settings(s)
        daily = getattr(it, rate) if it is not None else 0.0
        return Params(np.full(tables.n_classes, daily), in_force_day(s, section),
                      tables.period_of_day, purpose_number)

    def daily_cost(s: Scenario, tables) -> np.ndarray:
        """Attempts a listed day brings, times what one refusal costs."""
        it = settings(s)
        return np.full(tables.n_classes, getattr(it, rate) * getattr(it, cost))

    def describe(s: Scenario) -> str:
        it = settings(s)
        if it is None:
            return ""
        each = getattr(it, cost)
        return (f"{title}: {attempts} {per_million(getattr(it, rate))} times per million "
                "citizen-days is refused to the blacklisted"
                + (f" (each refusal costs them {each:,.0f} yuan)" if each > 0 else ""))

    counterfactual = f"counterfactual_{flow.name}"
    return Mechanism(
        acts_on_blacklist=True,
        name=name,
        title=title,
        what=what,
        section=section,
        active=lambda s: settings(s) is not None,
        params=params,
        hooks={"spell_closed": spell_closed, "ledger": ledger},
        purposes={purpose_name: purpose_number},
        flows=(flow,),
        outcomes=(quantity.name,),
        quantities=(quantity,),
        counterfactual_flows=((counterfactual, flow.name),),
        describe=describe,
        daily_cost=daily_cost,
        inputs=(f"{section}.*",),
        always_reported=always_reported,
        can_start_later=True,
        schedulable=(f"{section}.{rate}",),
        per_period=("rate",),
        columns_as={"FLOW.refused": flow.name, "OUT.refused": quantity.name,
                    "Q.refused": quantity.name},
    )
