"""The ledger on every axis: regions and age bands add up to the totals like groups and
income levels; the false-positive rate per group against its analytic value on R0; the
report ranks the largest disparities first."""

from __future__ import annotations

import math

from scsim.engine.sim import simulate
from scsim.ledger import build_ledger
from scsim.report import largest_disparities

import r0_analytic as a
from mechanism_base import scenario

REGIONS = [{"name": "east", "share": 0.6}, {"name": "west", "share": 0.4}]
HOUSEHOLDS = {"types": [{"adults": 2, "children": 1, "share": 0.6},
                        {"adults": 1, "elders": 1, "share": 0.4}],
              "neighbourhood_size": 16}


def _ledger():
    s = scenario(population__regions=REGIONS, population__households=HOUSEHOLDS,
                 behaviours__debt={"kind": "offence", "daily_rate": 0.0005,
                                   "multiplier_by_region": {"west": 3.0}})
    return build_ledger(simulate(s), None)


def test_regions_and_age_bands_add_up_to_the_totals():
    ledger = _ledger()
    assert list(ledger["by_region"]) == ["east", "west"] and ledger["reference_region"] == "east"
    assert list(ledger["by_age"]) == ["adult", "elder", "child"]
    for axis in ("by_region", "by_age", "by_income"):
        categories = ledger[axis].values()
        assert sum(x["citizens"] for x in categories) == ledger["citizens"], axis
        for q, total in ledger["totals"].items():
            if total is not None:
                assert sum(x["quantities"][q]["value"] for x in categories) == total, (axis, q)
    # children are never scored, recorded or sanctioned
    child = ledger["by_age"]["child"]["quantities"]
    assert child["sanctioned"]["value"] == child["false_records"]["value"] == 0
    assert ledger["by_age"]["adult"]["quantities"]["sanctioned"]["value"] > 0


def test_a_region_with_three_times_the_debt_is_listed_more_and_ranked_first():
    """West's debt rate is 3x east's; a debt costs 50 points and the threshold is 10 below
    the start, so a debt (or two jaywalking records) lists.  The ratio of the listed is
    well above 1, and the report's ranking is sorted by distance from 1."""
    ledger = _ledger()
    ratio = ledger["disparity_by_region"]["sanctioned"]["west"]
    assert ratio["status"] == "ok" and ratio["ratio"] > 1.2
    ranked = largest_disparities(ledger)
    nearer_end = [max(math.log(d["ci95"][0]), -math.log(d["ci95"][1])) for d in ranked]
    assert nearer_end == sorted(nearer_end, reverse=True) and ranked
    assert all(x > 0 for x in nearer_end)  # no interval that holds 1
    assert all(d["category"] != d["reference"] for d in ranked)
    assert any(d["quantity"] == "sanctioned" and d["category"] == "west" for d in ranked)


def test_a_scenario_without_households_has_only_adults():
    ledger = build_ledger(simulate(scenario(population__size=2000)), None)
    assert list(ledger["by_age"]) == ["adult"]
    assert len(ledger["by_region"]) == 1  # the default region


def test_false_positive_rate_per_group_on_r0(r0_200k):
    """R0 attributes a false record to a scored citizen on a day with probability q_g
    (1e-5, minority 1e-4), independently: a group's count is Binomial(n_g x 365, q_g), so its
    rate per citizen-year (count / n_g, every citizen scored all year) has mean 365 q_g and
    variance 365 q_g (1 - q_g) / n_g; five standard deviations bound it."""
    result, _ = r0_200k
    fpr = build_ledger(result, None)["false_positive_rate"]
    for g, group in enumerate(result.scenario.population.groups):
        entry = fpr["groups"][group.name]
        n_g = int(result.population[g])
        assert entry["citizen_years"] == n_g  # 365 days of n_g citizens
        q = a.FALSE_RATE[group.name]
        sd = math.sqrt(a.T * q * (1 - q) / n_g)
        assert abs(entry["rate"] - a.T * q) <= 5 * sd, (group.name, entry)
        low, high = entry["ci95"]
        assert 0 <= low <= entry["rate"] <= high
