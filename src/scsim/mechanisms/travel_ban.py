"""Travel ban: the listed are refused plane and high-speed-rail tickets.

A citizen tries to buy a ticket on a day with ``daily_trip_rate``; on every day of a
blacklisted spell that attempt is refused (``scsim.mechanisms.refusals``): the ledger's
``trips_denied`` is an exact per-citizen difference.
"""

from __future__ import annotations

from typing import Literal

from scsim.mechanisms.base import Flow
from scsim.mechanisms.refusals import refusal_on_listed_days
from scsim.quantities import Quantity
from scsim.scenario.fields import Probability, Strict, Yuan

TRIP = 6
"""Random-number purpose: does the citizen try to travel on a given day (counter = day)."""


class TravelBan(Strict):
    """Trips (plane, high-speed rail) are denied to sanctioned citizens."""

    daily_trip_rate: Probability
    """Probability that a citizen tries to buy a ticket on a given day."""
    yuan_per_refused_trip: Yuan = 0.0
    """What one refused ticket costs the traveller, in yuan (the slower way, or the trip
    forgone; what they respond to: ``scsim.mechanisms.response``)."""
    applies_to: Literal["blacklist"] = "blacklist"
    """Who is banned: citizens on the blacklist."""


MECHANISM = refusal_on_listed_days(
    name="travel_ban", title="travel ban", section="measures.travel_ban",
    what="trips attempted over listed spells are denied", rate="daily_trip_rate",
    purpose=("TRIP", TRIP), attempts="a trip attempted", cost="yuan_per_refused_trip",
    flow=Flow("denied_trips", "plane and high-speed-rail tickets refused to the listed",
              "denied a plane or high-speed-rail ticket"),
    quantity=Quantity("trips_denied", False, "harm", "trips", False,
                      "plane and high-speed-rail trips denied, beyond the counterfactual's",
                      relative=True, daily=("denied_trips", "-counterfactual_denied_trips")),
    always_reported=True,
)
