"""Travel ban: the listed are refused plane and high-speed-rail tickets.

A citizen tries to buy a ticket on a day with ``daily_trip_rate``; on every
day of a blacklisted spell that attempt is refused.  The attempt is a draw
keyed by (citizen, TRIP, day), so a paired counterfactual meets the same
attempts and the ledger's ``trips_denied`` is an exact per-citizen
difference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from scsim.ledger import Quantity
from scsim.mechanisms.base import FLOW, OUT, Flow, Mechanism, Q
from scsim.scenario.fields import Probability, Strict
from scsim.scenario.schedule import in_force_day

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        SCHEDULED,
        _tally,
        refused_on_listed_days,
        refused_on_listed_days_by_period,
    )
    from scsim.scenario.model import Scenario

TRIP = 6
"""Random-number purpose: does the citizen try to travel on a given day (counter = day)."""


class TravelBan(Strict):
    """Trips (plane, high-speed rail) are denied to sanctioned citizens."""

    daily_trip_rate: Probability
    """Probability that a citizen tries to buy a ticket on a given day."""
    applies_to: Literal["blacklist"] = "blacklist"
    """Who is banned: citizens on the blacklist."""


class Params(NamedTuple):
    trip_prob: np.ndarray
    """(periods, classes) daily probability of a trip attempt (0: no ban)."""
    from_day: int
    """The first day the ban is in force (1, unless a schedule says later)."""
    period_of_day: np.ndarray
    """The period of each day (the tables'), for the rate of each listed day."""


def params(s: Scenario, tables) -> Params:
    ban = s.measures.travel_ban
    n_classes = tables.n_classes
    return Params(np.full(n_classes, ban.daily_trip_rate if ban is not None else 0.0),
                  in_force_day(s, "measures.travel_ban"), tables.period_of_day)


def spell_closed(P: Params, key, first, last_day, m, ob, g, c, flows, outcomes) -> None:
    """Each blacklisted day the ban is in force, a trip attempted that day is refused."""
    if SCHEDULED:  # (the generator keeps the branch of the kernel's kind)
        outcomes[ob + m, OUT.trips_denied] += refused_on_listed_days_by_period(
            key, TRIP, max(first, P.from_day), last_day, P.trip_prob[:, c], P.period_of_day,
            flows, g, FLOW.denied_trips)
    else:
        outcomes[ob + m, OUT.trips_denied] += refused_on_listed_days(
            key, TRIP, max(first, P.from_day), last_day, P.trip_prob[0, c], flows, g,
            FLOW.denied_trips)


def ledger(m, g, run, counterfactual, ledger, examples, citizen) -> None:
    _tally(ledger, examples, citizen, g, Q.trips_denied,
                   run[m, OUT.trips_denied] - counterfactual[m, OUT.trips_denied])


def _describe(s: Scenario) -> str:
    from scsim.describe import per_million

    ban = s.measures.travel_ban
    return (f"travel ban: a trip attempted {per_million(ban.daily_trip_rate)} times per "
            "million citizen-days is refused to the blacklisted") if ban else ""


MECHANISM = Mechanism(
    acts_on_blacklist=True,
    name="travel_ban",
    title="travel ban",
    what="trips attempted over listed spells are denied",
    section="measures.travel_ban",
    active=lambda s: s.measures.travel_ban is not None,
    params=params,
    hooks={"spell_closed": spell_closed, "ledger": ledger},
    purposes={"TRIP": TRIP},
    flows=(Flow("denied_trips", "plane and high-speed-rail tickets refused to the listed",
                "denied a plane or high-speed-rail ticket"),),
    outcomes=("trips_denied",),
    quantities=(Quantity("trips_denied", False, "harm", "trips", False,
                         "plane and high-speed-rail trips denied, beyond the counterfactual's",
                         relative=True,
                         daily=("denied_trips", "-counterfactual_denied_trips")),),
    counterfactual_flows=(("counterfactual_denied_trips", "denied_trips"),),
    describe=_describe,
    inputs=("measures.travel_ban.*",),
    always_reported=True,
    can_start_later=True,
    schedulable=("measures.travel_ban.daily_trip_rate",),
    per_period=("trip_prob",),
)
