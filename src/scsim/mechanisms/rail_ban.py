"""Rail ban: the listed are refused high-speed-rail tickets, apart from flights.

The court list's travel ban covers two channels that the SPC counts apart: flights and
high-speed rail (docs/sources.md section 2.1: 17.46 M flights and 5.47 M rail by the end of
2018), whose growth differs.  With this module a scenario gives rail its own ticket rate,
and ``measures.travel_ban`` stands for flights alone.  A citizen tries to buy a rail ticket
on a day with ``daily_trip_rate`` (a stream of its own: purpose RAIL); on every day of a
blacklisted spell the attempt is refused (``scsim.mechanisms.refusals``).
"""

from __future__ import annotations

from scsim.mechanisms.base import Flow
from scsim.mechanisms.refusals import refusal_on_listed_days
from scsim.mechanisms.travel_ban import TravelBan
from scsim.quantities import Quantity

RAIL = 20
"""Random-number purpose: does the citizen try to buy a rail ticket on a day (counter = day)."""


class RailBan(TravelBan):
    """High-speed-rail tickets are refused to sanctioned citizens (flights: travel_ban); the
    travel ban's fields, for rail tickets."""


MECHANISM = refusal_on_listed_days(
    name="rail_ban", title="rail ban", section="measures.rail_ban",
    what="rail tickets attempted over listed spells are refused", rate="daily_trip_rate",
    purpose=("RAIL", RAIL), attempts="a rail ticket attempted", cost="yuan_per_refused_trip",
    flow=Flow("denied_rail_trips", "high-speed-rail tickets refused to the listed (with "
              "measures.rail_ban, travel_ban's denied_trips are flights only)",
              "denied a high-speed-rail ticket"),
    quantity=Quantity("rail_trips_denied", False, "harm", "trips", False,
                      "high-speed-rail trips denied, beyond the counterfactual's",
                      relative=True,
                      daily=("denied_rail_trips", "-counterfactual_denied_rail_trips")),
)
