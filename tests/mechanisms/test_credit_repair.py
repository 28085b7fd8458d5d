"""Credit repair: against limiting or exactly known cases."""

from __future__ import annotations

import numpy as np

from scsim.engine.sim import simulate
from scsim.results import daily_table

from mechanism_base import scenario


def test_credit_repair_of_every_record_at_once_is_the_same_as_no_points():
    """A record repaired on the day it is made never counts: as if it carried no points."""
    common = {"channels__cameras__false_attribution": None}
    repaired = simulate(scenario(**common, scheme__credit_repair={
        "share": 1.0, "delay_days": 0, "behaviours": ["jaywalk"]}))
    pointless = simulate(scenario(**common, scheme__points={"speech": -5, "debt": -50}))
    assert np.array_equal(repaired.final_score, pointless.final_score)
    rows = daily_table(repaired).to_pylist()
    assert sum(r["records_repaired"] for r in rows) == sum(r["jaywalk_recorded"] for r in rows) > 0
    assert [r["blacklisted"] for r in rows] == [r["blacklisted"] for r in
                                                daily_table(pointless).to_pylist()]
