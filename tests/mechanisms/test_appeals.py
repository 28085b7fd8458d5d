"""Appeals against false records: against limiting or exactly known cases."""

from __future__ import annotations

from scsim.engine.sim import simulate
from scsim.kernels.layout import (
    Q_WRONGLY_SANCTIONED,
)
from scsim.results import daily_table
from scsim.scenario.pairing import no_system

from mechanism_base import scenario


def test_appeals_that_always_win_at_once_leave_nobody_wrongly_sanctioned():
    s = scenario(scheme__appeals={"contest_share": 1.0, "success_rate": 1.0, "delay_days": 0})
    result = simulate(s, counterfactual=no_system(s))
    assert result.ledger_sum[:, Q_WRONGLY_SANCTIONED].sum() == 0
    table = daily_table(result)
    assert table["appeals_won"].to_numpy().sum() > 0
    assert table["false_records"].to_numpy().sum() == 0
