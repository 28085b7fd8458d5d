"""The employment penalty: against limiting or exactly known cases."""

from __future__ import annotations

from scsim.engine.sim import simulate
from scsim.results import daily_table
from scsim.scenario.pairing import no_system

from mechanism_base import scenario


def test_employment_penalty_loses_exactly_the_income_difference_per_listed_day():
    """Everyone earns 30 a day; listed, they are paid as one level down (10): 20 lost a day."""
    s = scenario(
        population__income_levels=[{"name": "low", "share": 0.0, "daily_income": 10},
                                   {"name": "high", "share": 1.0, "daily_income": 30}],
        measures__employment_penalty={"levels_down": 1},
    )
    result = simulate(s, counterfactual=no_system(s))
    rows = daily_table(result).to_pylist()
    assert all(r["income_lost"] == 20 * r["blacklisted"] for r in rows)
    total = sum(r["blacklisted"] for r in rows)
    assert total > 0
    assert result.ledger_sums("income_lost").sum() == 20 * total
