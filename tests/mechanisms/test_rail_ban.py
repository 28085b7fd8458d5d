"""Rail ban (a mechanism module): flights and rail refused apart, each exact where the outcome
is certain."""

from __future__ import annotations

import numpy as np

from scsim.engine.sim import simulate
from scsim.ledger import build_ledger
from scsim.results import daily_table

from mechanism_base import scenario


def test_flights_and_rail_are_each_refused_on_every_listed_day_at_rate_one():
    """At a ticket a day on both channels, every listed citizen-day refuses exactly one flight
    and one rail ticket: each total equals the days listed (the ledger's days_blacklisted),
    and the two columns are equal day by day."""
    result = simulate(scenario(measures__travel_ban={"daily_trip_rate": 1.0},
                               measures__rail_ban={"daily_trip_rate": 1.0}))
    table = daily_table(result).to_pandas()
    listed_days = int(table.blacklisted.sum())
    assert listed_days > 10_000
    assert (table.denied_trips == table.denied_rail_trips).all()
    ledger = build_ledger(result, None)
    assert ledger["totals"]["rail_trips_denied"] == table.denied_rail_trips.sum()
    assert ledger["totals"]["trips_denied"] == table.denied_trips.sum()
    assert table.denied_rail_trips.sum() == result.ledger_sums("days_blacklisted").sum()


def test_rail_draws_are_a_stream_of_their_own():
    """The same rate on both channels, different purposes: different days refused, each
    Binomial(listed days, p) within 5 sd."""
    rate = 0.02
    table = daily_table(simulate(scenario(measures__travel_ban={"daily_trip_rate": rate},
                                          measures__rail_ban={"daily_trip_rate": rate})))
    flights, rail = table["denied_trips"].to_numpy(), table["denied_rail_trips"].to_numpy()
    listed = table["blacklisted"].to_numpy().sum()
    for refused in (flights, rail):
        assert abs(refused.sum() - listed * rate) < 5 * np.sqrt(listed * rate * (1 - rate))
    assert not np.array_equal(flights, rail)


def test_without_it_there_is_no_rail_column():
    assert "denied_rail_trips" not in daily_table(simulate(scenario())).column_names
