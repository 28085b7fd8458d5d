"""The ledger by income level: the same entries as by group, adding up to the totals, and
rates that follow the income multipliers."""

from __future__ import annotations

import math

from scsim.engine.sim import simulate
from scsim.ledger import build_ledger

from mechanism_base import scenario

INCOMES = [{"name": "low", "share": 0.3, "daily_income": 30},
           {"name": "middle", "share": 0.5, "daily_income": 90},
           {"name": "high", "share": 0.2, "daily_income": 250}]


def _run(**changes):
    s = scenario(population__income_levels=INCOMES, run__days=200,
                 behaviours__debt={"kind": "offence", "daily_rate": 0.0005,
                                   "multiplier_by_income": {"low": 3.0, "high": 0.5}},
                 scheme__blacklist_behaviours=["debt"], scheme__blacklist_below=None,
                 **changes)
    return s, build_ledger(simulate(s), None)


def test_income_levels_add_up_to_the_totals():
    _, ledger = _run()
    levels = ledger["by_income"]
    assert list(levels) == ["low", "middle", "high"]
    assert ledger["reference_income_level"] == "low"
    assert sum(x["citizens"] for x in levels.values()) == ledger["citizens"]
    for q, total in ledger["totals"].items():
        if total is not None:
            assert sum(x["quantities"][q]["value"] for x in levels.values()) == total, q
    assert ledger["disparity_by_income"]["sanctioned"]["low"]["ratio"] == 1.0


def test_the_share_listed_follows_the_income_multiplier():
    """A citizen is listed once a debt is recorded (courts record all): P(listed in T days)
    = 1 - (1 - p)^T per level, p = 0.0005 x multiplier.  Each level's count is binomial:
    within 5 sd = 5 sqrt(n P (1 - P)) of n P, n its citizens (all adults here)."""
    s, ledger = _run()
    for level, multiplier in (("low", 3.0), ("middle", 1.0), ("high", 0.5)):
        entry = ledger["by_income"][level]
        n = entry["citizens"]
        p = 1 - (1 - 0.0005 * multiplier) ** s.run.days
        listed = entry["quantities"]["sanctioned"]["value"]
        assert abs(listed - n * p) <= 5 * math.sqrt(n * p * (1 - p)), level
    ratio = ledger["disparity_by_income"]["sanctioned"]["high"]
    assert ratio["ci95"][0] < (1 - (1 - 0.00025) ** 200) / (1 - (1 - 0.0015) ** 200) \
        < ratio["ci95"][1]
