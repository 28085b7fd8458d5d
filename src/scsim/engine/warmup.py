"""Compile (or load from numba's cache) the kernels before the clock starts."""

from __future__ import annotations

from functools import cache

from scsim.engine.sim import simulate
from scsim.scenario.load import validate_scenario

_TINY = {
    "name": "warm_up",
    "run": {"days": 2},
    "population": {"size": 4},
    "behaviours": {"a": {"daily_rate": 0.5}},
    "channels": {"c": {"records": ["a"],
                       "false_attribution": {"behaviour": "a", "daily_rate": 0.5}}},
    "scheme": {"start_score": 10, "min_score": 0, "max_score": 20, "points": {"a": -1},
               "blacklist_below": 10},
    "measures": {"travel_ban": {"daily_trip_rate": 0.5}},
}


@cache
def warm_up() -> None:
    """Run a four-citizen scenario; the kernel's types do not depend on sizes."""
    simulate(validate_scenario(_TINY, "<warm-up>").scenario)
