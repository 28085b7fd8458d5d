"""Deterrence: against limiting or exactly known cases."""

from __future__ import annotations

from scsim.engine.sim import simulate
from scsim.kernels.layout import (
    Q_BEHAVIOURS_PREVENTED,
    Q_SPEECH_LOST,
)
from scsim.scenario.pairing import no_system

from mechanism_base import scenario


def test_deterrence_prevents_offences_against_no_system():
    s = scenario(deterrence={"decay_days": 90, "own_record": 2.0, "offence_sensitivity": 1.0,
                             "speech_sensitivity": 1.0})
    result = simulate(s, counterfactual=no_system(s))
    assert result.ledger_sum[:, Q_BEHAVIOURS_PREVENTED].sum() > 0
    assert result.ledger_sum[:, Q_SPEECH_LOST].sum() > 0
