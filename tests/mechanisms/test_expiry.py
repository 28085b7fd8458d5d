"""Record expiry: against limiting or exactly known cases."""

from __future__ import annotations

import numpy as np

from scsim.engine.sim import simulate
from scsim.kernels.layout import FLOW_FALSE_RECORDS

from mechanism_base import scenario


def test_expiry_restores_exactly_the_points_after_the_window():
    """Without clipping, score(d) = start + sum of the points of records made in (d - W, d].

    Compare a run with retention W against the same run without: on day d the
    difference of score sums equals minus the points of the records older than
    W days, which the run without expiry tabulates by day.
    """
    window = 100
    keep = simulate(scenario())
    expire = simulate(scenario(scheme__retention_days=window))
    points = np.array([-5, -5, -50])
    layout = keep.flow_layout
    flows = keep.flows
    recorded = flows[:, :, [layout.recorded(b) for b in range(3)]]
    false = flows[:, :, FLOW_FALSE_RECORDS]  # false jaywalks, -5 each
    daily_points = (recorded * points).sum(axis=-1) + false * -5
    old_points = np.cumsum(daily_points, axis=0)
    for day in (50, 150, 399):
        expected = keep.levels[day, :, 2] - (old_points[day - window] if day > window else 0)
        assert np.array_equal(expire.levels[day, :, 2], expected)
    assert (keep.final_score >= 0).all() and (keep.final_score <= 2000).all()  # never clipped
