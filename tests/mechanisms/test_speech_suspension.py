"""Social-media suspension: against limiting or exactly known cases."""

from __future__ import annotations

from scsim.engine.sim import simulate
from scsim.kernels.layout import (
    Q_SPEECH_LOST,
)
from scsim.results import daily_table
from scsim.scenario.pairing import no_system

from mechanism_base import scenario


def test_suspension_blocks_speech_and_counts_as_lost():
    s = scenario(measures__speech_suspension={"days": 30})
    result = simulate(s, counterfactual=no_system(s))
    table = daily_table(result)
    blocked = table["speech_blocked"].to_numpy().sum()
    assert blocked > 0
    # without deterrence no speech is chilled, so every blocked post is lost
    assert result.ledger_sum[:, Q_SPEECH_LOST].sum() == blocked
