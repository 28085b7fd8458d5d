"""Human review of records: against limiting or exactly known cases."""

from __future__ import annotations

from scsim.engine.sim import simulate
from scsim.kernels.layout import (
    Q_WRONGLY_SANCTIONED,
)
from scsim.results import daily_table
from scsim.scenario.pairing import no_system

from mechanism_base import scenario


def test_human_review_that_catches_every_false_record_lets_none_count():
    s = scenario(scheme__human_review={"false_record_catch": 1.0})
    result = simulate(s, counterfactual=no_system(s))
    rows = daily_table(result).to_pylist()
    assert sum(r["false_records_caught_by_review"] for r in rows) > 0
    assert sum(r["false_records"] for r in rows) == 0
    assert result.ledger_sum[:, Q_WRONGLY_SANCTIONED].sum() == 0
