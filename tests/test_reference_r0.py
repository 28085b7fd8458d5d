"""The engine against an independent, slow, per-citizen implementation of R0.

The reference below shares no code and no random numbers with the engine: it
draws every citizen-day's Bernoulli variables densely from NumPy's PCG64 and
walks each citizen's days in order, exactly as MODEL.md states R0.  The two
can only agree in distribution, so we compare many replicates.

Design: R replicates of N citizens from each implementation (different seeds).
Per replicate we take two statistics on day 365: the number blacklisted and
the mean score.  For each statistic, a two-sided Welch t-test (equal means)
and a Brown-Forsythe test (equal variances), each at alpha = 1e-3.  Pooling
all citizens, a chi-square test of homogeneity on final-score categories
(alpha = 1e-3) checks the shape of the distribution.  Seeds are fixed, so
the outcome is deterministic; a correct engine would fail one of the five
tests for a fresh choice of seeds with probability below 0.5%.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scsim.engine.sim import simulate

from conftest import r0

N = 1000
REPLICATES = 150
DAYS = 365
ALPHA = 1e-3
SCORE_EDGES = [0, 600, 900, 970, 990, 1000, 1001, 1011, 1301]


def reference_r0_citizen(rng: np.random.Generator) -> tuple[int, int]:
    """One citizen of R0, day by day; returns (final score, false records)."""
    minority = rng.random() < 0.10
    low_income = rng.random() < 0.30
    late_rate = 0.001 * (2 if low_income else 1)
    court_rate = 0.00003 * (3 if low_income else 1)
    jaywalk_rec = 0.60 if minority else 0.30
    speech_rec = 0.60 if minority else 0.20
    false_rate = 1e-4 if minority else 1e-5
    # Columns: jaywalk, late, speech, good deed, court, and their recording
    # draws, false attribution, trip.  Drawn densely for all days at once.
    u = rng.random((DAYS, 12))
    score, speech_rate, false_records = 1000, 0.0005, 0
    # Only days on which some event could happen change anything.
    maybe = (
        (u[:, 0] < 0.002) | (u[:, 1] < late_rate) | (u[:, 2] < 0.0005) | (u[:, 3] < 0.001)
        | (u[:, 4] < court_rate) | (u[:, 10] < false_rate)
    )
    for day in np.flatnonzero(maybe):
        row = u[day]
        change = 0
        if row[0] < 0.002 and row[5] < jaywalk_rec:
            change -= 5
        if row[1] < late_rate and row[6] < 0.95:
            change -= 20
        if row[2] < speech_rate and row[7] < speech_rec:
            change -= 50
            speech_rate /= 2
        if row[3] < 0.001 and row[8] < 0.50:
            change += 10
        if row[4] < court_rate and row[9] < 1.0:
            change -= 450
        if row[10] < false_rate:
            change -= 5
            false_records += 1
        score = min(max(score + change, 0), 1300)
    return score, false_records


def reference_replicate(seed: int) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(seed))
    return np.array([reference_r0_citizen(rng)[0] for _ in range(N)])


def engine_replicate(seed: int) -> np.ndarray:
    return simulate(r0(N, seed=seed, days=DAYS)).final_score.astype(np.int64)


@pytest.fixture(scope="module")
def samples() -> tuple[list[np.ndarray], list[np.ndarray]]:
    engine = [engine_replicate(1_000 + k) for k in range(REPLICATES)]
    reference = [reference_replicate(9_000 + k) for k in range(REPLICATES)]
    return engine, reference


@pytest.mark.parametrize("statistic", ["blacklisted", "mean_score"])
def test_replicate_statistics_agree(samples, statistic):
    def stat(scores: np.ndarray) -> float:
        return float((scores < 600).sum()) if statistic == "blacklisted" else scores.mean()

    engine = np.array([stat(s) for s in samples[0]])
    reference = np.array([stat(s) for s in samples[1]])
    welch = stats.ttest_ind(engine, reference, equal_var=False)
    spread = stats.levene(engine, reference, center="median")
    assert welch.pvalue > ALPHA, (statistic, engine.mean(), reference.mean(), welch)
    assert spread.pvalue > ALPHA, (statistic, engine.std(), reference.std(), spread)


def test_final_score_distribution_agrees(samples):
    engine = np.histogram(np.concatenate(samples[0]), bins=SCORE_EDGES)[0]
    reference = np.histogram(np.concatenate(samples[1]), bins=SCORE_EDGES)[0]
    table = np.array([engine, reference])
    table = table[:, table.sum(axis=0) > 0]
    chi2 = stats.chi2_contingency(table)
    assert chi2.pvalue > ALPHA, (table, chi2)
