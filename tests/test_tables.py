"""The period tables (``engine/tables.py``), built over whole class axes at once, against the
per-class formula of docs/odd.md written out as a loop: equal to the last bit, so building
them faster cannot move a result."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scsim.engine.tables import SCORED_AGES, _period_tables, class_index, class_regions
from scsim.scenario import load_scenario
from scsim.scenario.schedule import periods

from conftest import SCENARIOS

# every kind of multiplier, a pilots-only behaviour and its false stream, and three
# propensity levels on top of the pilots preset's world
RICH = {
    "population.size": 10_000, "schedule": [],
    "population.propensity_levels": [{"name": "careful", "share": 0.3},
                                     {"name": "typical", "share": 0.5},
                                     {"name": "reckless", "share": 0.2}],
    "behaviours.traffic_offence.multiplier_by_propensity": {"careful": 0.3, "reckless": 3.1},
    "behaviours.traffic_offence.multiplier_by_age": {"elder": 0.7},
    "behaviours.traffic_offence.multiplier_by_group": {"minority": 1.3},
    "behaviours.traffic_offence.multiplier_by_region": {"jiangsu": 1.7},
    "behaviours.court_default.multiplier_by_region": {"shandong": 0.9, "fujian": 1.1},
}


def _by_class(s, candidate_levels_down):
    """The tables class by class: each rate the product daily rate x group x income x region
    x propensity x age multipliers; a candidate's rate the highest over the income levels a
    penalty could take the citizen down to."""
    from scsim.engine.tables import penalty_levels

    pop = s.population
    groups = [c.name for c in pop.groups]
    incomes = [c.name for c in pop.income_levels]
    regions = class_regions(s)
    propensities = [c.name for c in pop.propensity_levels]
    behaviours = list(s.behaviours)
    channel_of = {b: ch for ch in s.channels.values() for b in ch.records}
    streams = [ch.false_attribution for ch in s.channels.values() if ch.false_attribution]
    down = min(penalty_levels(s), len(incomes) - 1)
    candidate_down = min(max(down, candidate_levels_down or 0), len(incomes) - 1)
    n = len(groups) * len(incomes) * len(regions) * len(propensities) * len(SCORED_AGES)
    p, accept = np.zeros((n, len(behaviours))), np.ones((n, 2, len(behaviours)))
    record, p_false = np.zeros((n, len(behaviours))), np.zeros((n, len(streams)))

    def rate(spec, g, i, region, scheme, pr, a):
        if spec.pilots_only and scheme == 0:
            return 0.0
        return (spec.daily_rate * spec.multiplier_by_group.get(g, 1.0)
                * spec.multiplier_by_income.get(incomes[i], 1.0)
                * spec.multiplier_by_region.get(region, 1.0)
                * spec.multiplier_by_propensity.get(pr, 1.0) * spec.multiplier_by_age.get(a, 1.0))

    for (gi, g), ii, (ri, (region, scheme)), (pi, pr), (ai, a) in itertools.product(
            enumerate(groups), range(len(incomes)), enumerate(regions), enumerate(propensities),
            enumerate(SCORED_AGES)):
        c = class_index(gi, ii, ri, pi, ai, len(incomes), len(regions), len(propensities))
        for bi, b in enumerate(behaviours):
            reachable = [rate(s.behaviours[b], g, max(ii - k, 0), region, scheme, pr, a)
                         for k in range(candidate_down + 1)]
            p[c, bi] = max(reachable)
            if p[c, bi] > 0:
                accept[c, 0, bi] = reachable[0] / p[c, bi]
                accept[c, 1, bi] = reachable[down] / p[c, bi]
            if (channel := channel_of.get(b)) is not None:
                record[c, bi] = (channel.coverage_by_region.get(region, channel.coverage)
                                 * channel.detection_by_group.get(g, channel.detection))
        for fi, fa in enumerate(streams):
            if not (s.behaviours[fa.behaviour].pilots_only and scheme == 0):
                p_false[c, fi] = (fa.rate_by_group.get(g, fa.daily_rate)
                                  * fa.multiplier_by_region.get(region, 1.0))
    return p, accept, record, p_false


@pytest.mark.parametrize("candidate_levels_down", [None, 2, 4])
def test_the_tables_are_the_per_class_formula_to_the_last_bit(candidate_levels_down):
    s = load_scenario(SCENARIOS / "national-pilots.toml", RICH).scenario
    tables = _period_tables(s, candidate_levels_down)
    expected = _by_class(s, candidate_levels_down)
    for name, want in zip(("p_candidate", "accept", "record", "p_false"), expected, strict=True):
        got = getattr(tables, name)
        assert got.shape == want.shape and got.tobytes() == want.tobytes(), name
    pilots_only = list(s.behaviours).index("traffic_offence")
    assert (tables.p_candidate[:, pilots_only] == 0).any()  # (outside the pilots)
    assert (tables.accept[:, 1] < 1).any()  # (the employment penalty's lower income)


def test_every_period_of_the_history_is_the_per_class_formula():
    s = load_scenario(SCENARIOS / "national-2013-2025.toml", {"population.size": 10_000}).scenario
    for period in periods(s)[::9]:
        tables = _period_tables(period.scenario, None)
        for name, want in zip(("p_candidate", "accept", "record", "p_false"),
                              _by_class(period.scenario, None), strict=True):
            assert getattr(tables, name).tobytes() == want.tobytes(), name
