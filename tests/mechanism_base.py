"""A small base scenario for the mechanism tests: each test changes only what it examines."""

from __future__ import annotations

import copy

from scsim.scenario.load import validate_scenario

BASE = {
    "name": "mechanism",
    "run": {"days": 400, "seed": 11},
    "population": {
        "size": 20_000,
        "groups": [{"name": "majority", "share": 0.8}, {"name": "minority", "share": 0.2}],
    },
    "behaviours": {
        "jaywalk": {"kind": "offence", "daily_rate": 0.004},
        "speech": {"kind": "speech", "daily_rate": 0.003},
        "debt": {"kind": "offence", "daily_rate": 0.0005},
    },
    "channels": {
        "cameras": {
            "records": ["jaywalk"],
            "detection": 0.5,
            "false_attribution": {"behaviour": "jaywalk", "daily_rate": 0.002,
                                  "rate_by_group": {"minority": 0.01}},
        },
        "monitors": {"records": ["speech"], "detection": 0.5},
        "courts": {"records": ["debt"]},
    },
    "scheme": {"start_score": 1000, "min_score": 0, "max_score": 2000, "blacklist_below": 990,
               "points": {"jaywalk": -5, "speech": -5, "debt": -50}},
    "measures": {"travel_ban": {"daily_trip_rate": 0.05}},
}


def scenario(**changes):
    """BASE with dotted-path changes (a value of None deletes the field)."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return validate_scenario(data, "<test>").scenario

