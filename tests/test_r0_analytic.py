"""R0 at N = 200,000 against expectations derived from its definition.

Every tolerance is 5 standard deviations of the quantity under R0, with the
variance derived in tests/r0_analytic.py (binomial counts, the exact speech
chain, the law of total variance over incomes).  A correct engine fails one of
these checks with probability below 1e-5 for a given seed; the seed is fixed,
so the suite is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scsim.kernels.layout import LEVEL_SCORE_SUM

import r0_analytic as a

Z = 5.0


def by_group(table, column: str, day: int | None = None) -> dict[str, int | float]:
    rows = table.to_pylist()
    if day is not None:
        return {r["group"]: r[column] for r in rows if r["day"] == day}
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["group"]] = totals.get(r["group"], 0) + r[column]
    return totals


def assert_within(observed: float, mean: float, var: float, what: str) -> None:
    sd = math.sqrt(var)
    assert abs(observed - mean) <= Z * sd, (
        f"{what}: observed {observed}, expected {mean:.3f} +- {Z} x {sd:.3f}"
    )


def test_group_sizes(r0_200k):
    """Minority size ~ Binomial(N, 0.10)."""
    _, table = r0_200k
    pop = by_group(table, "population", day=1)
    n = sum(pop.values())
    assert n == 200_000
    m = a.binomial(n, 0.10)
    assert_within(pop["minority"], m.mean, m.var, "minority citizens")


def test_court_defaults(r0_200k):
    """Committed court defaults: sum over citizens of a Binomial(365, p_I) mixture."""
    _, table = r0_200k
    observed = sum(by_group(table, "court_default_committed").values())
    m = a.court_defaults_per_citizen()
    assert_within(observed, 200_000 * m.mean, 200_000 * m.var, "court defaults")


def test_recorded_late_payments(r0_200k):
    """Recorded late payments: Binomial(365, 0.95 p_I) per citizen, mixed over incomes."""
    _, table = r0_200k
    observed = sum(by_group(table, "late_payment_recorded").values())
    m = a.recorded_late_payments_per_citizen()
    assert_within(observed, 200_000 * m.mean, 200_000 * m.var, "recorded late payments")


@pytest.mark.parametrize("group", ["majority", "minority"])
def test_false_records_per_group(r0_200k, group):
    """False records of a group: Binomial(n_g x 365, q_g) given the group's size n_g."""
    _, table = r0_200k
    n_g = by_group(table, "population", day=1)[group]
    observed = by_group(table, "false_records")[group]
    m = a.binomial(n_g * a.T, a.FALSE_RATE[group])
    assert_within(observed, m.mean, m.var, f"false records ({group})")


@pytest.mark.parametrize("group", ["majority", "minority"])
def test_mean_score_on_last_day(r0_200k, group):
    """Mean score on day 365: per-citizen moments / n_g (clipping bias < 0.005 points)."""
    _, table = r0_200k
    n_g = by_group(table, "population", day=1)[group]
    observed = by_group(table, "mean_score", day=365)[group]
    m = a.score_at_end(group)
    assert_within(observed, m.mean, m.var / n_g + 0.005**2, f"mean score ({group})")


@pytest.mark.parametrize("group", ["majority", "minority"])
def test_blacklisted_on_last_day(r0_200k, group):
    """Blacklisted on day 365: Bernoulli(P(at least one court default)) per citizen."""
    _, table = r0_200k
    n_g = by_group(table, "population", day=1)[group]
    observed = by_group(table, "blacklisted", day=365)[group]
    m = a.binomial(n_g, a.blacklisted_probability())
    assert_within(observed, m.mean, m.var, f"blacklisted ({group})")


@pytest.mark.parametrize("group", ["majority", "minority"])
def test_recorded_speech_with_halving(r0_200k, group):
    """Recorded speech: n_g independent copies of the halving chain H."""
    _, table = r0_200k
    n_g = by_group(table, "population", day=1)[group]
    observed = by_group(table, "recorded_speech")[group]
    h = a.speech_recorded(group)
    assert_within(observed, n_g * h.mean, n_g * h.var, f"recorded speech ({group})")


def test_denied_trips_match_blacklisted_days(r0_200k):
    """Denied trips ~ Binomial(blacklisted citizen-days, 0.01) given those days."""
    _, table = r0_200k
    blacklisted_days = sum(by_group(table, "blacklisted").values())
    observed = sum(by_group(table, "denied_trips").values())
    m = a.binomial(blacklisted_days, 0.01)
    assert_within(observed, m.mean, m.var, "denied trips")


def test_histogram_agrees_with_levels(r0_200k):
    """The score histogram holds every citizen every day and reproduces the mean."""
    result, table = r0_200k
    hist = result.score_histogram
    assert (hist.sum(axis=2) == result.population[None, :]).all()
    scores = result.tables.min_score + np.arange(hist.shape[2])
    mean_from_hist = (hist[1:] * scores).sum(axis=2) / result.population
    mean = np.array(table.column("mean_score").to_pylist()).reshape(365, 2)
    np.testing.assert_allclose(mean_from_hist, mean, rtol=1e-12)
    final = result.final_score.astype(np.int64)
    assert final.sum() == result.levels[365, :, LEVEL_SCORE_SUM].sum()


@pytest.mark.parametrize("group", ["majority", "minority"])
def test_recorded_jaywalks_per_group(r0_200k, group):
    """Recorded jaywalks: Binomial(n_g x 365, 0.002 x detection_g) given n_g.

    Sensitive to the per-group detection: 0.6 -> 0.5 for the minority moves the
    expectation by about 15 standard deviations.
    """
    _, table = r0_200k
    n_g = by_group(table, "population", day=1)[group]
    observed = by_group(table, "jaywalk_recorded")[group]
    m = a.binomial(n_g * a.T, a.JAYWALK * a.JAYWALK_RECORDED[group])
    assert_within(observed, m.mean, m.var, f"recorded jaywalks ({group})")
