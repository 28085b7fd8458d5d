"""Paired runs and common random numbers: against limiting or exactly known cases."""

from __future__ import annotations

import numpy as np
import pytest

from scsim.engine.sim import simulate
from scsim.results import daily_table

from mechanism_base import scenario


def test_counterfactual_of_a_scenario_against_itself_is_an_all_zero_ledger():
    s = scenario(
        deterrence={"decay_days": 60, "own_record": 1.0, "own_sanction": 2.0,
                    "offence_sensitivity": 0.5, "speech_sensitivity": 0.5},
        measures__speech_suspension={"days": 20},
    )
    result = simulate(s, counterfactual=s)
    for q in ("speech_lost", "behaviours_prevented", "trips_denied", "children_penalised"):
        assert result.ledger_sums(q).sum() == 0
        assert result.ledger_squares(q).sum() == 0  # zero for every citizen
    table = daily_table(result)
    assert table["speech_lost"].to_numpy().sum() == 0
    assert table["behaviours_prevented"].to_numpy().sum() == 0


def test_a_sanction_change_leaves_behaviour_draws_unchanged_without_deterrence():
    """Common random numbers: two runs differing only in a sanction commit the same events."""
    a = simulate(scenario())
    b = simulate(scenario(measures__travel_ban={"daily_trip_rate": 0.5},
                          measures__speech_suspension=None))
    def committed(result):
        return result.flows[:, :, [result.flow_layout.committed(k) for k in range(3)]]

    assert np.array_equal(committed(a), committed(b))
    assert np.array_equal(a.final_score, b.final_score)
    def trips(result):
        return result.flows[:, :, result.flow_layout.flow("denied_trips")]

    assert not np.array_equal(trips(a), trips(b))


def test_a_counterfactual_of_another_world_is_refused():
    with pytest.raises(ValueError, match="counterfactual run: differs"):
        simulate(scenario(), counterfactual=scenario(run__days=399))
