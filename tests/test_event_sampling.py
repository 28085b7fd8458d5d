"""The event-driven sampler reproduces independent daily Bernoulli streams exactly.

Three behaviours with large rates (so every pattern is common) are simulated
for many citizen-days; the frequency of each of the 8 firing patterns on a
day, and the gap between candidate days, are compared with their exact
probabilities by chi-square goodness-of-fit (alpha = 1e-4, fixed seed).
"""

from __future__ import annotations

import itertools

import numpy as np
from numba import njit
from scipy import stats

from scsim.engine.tables import _process_tables
from scsim.kernels.neighbourhood import _first_firing, _next_candidate_day, _next_firing
from scsim.rng.counter import SELECT, citizen_key, seed_key, uniform

P = np.array([0.05, 0.2, 0.01])


@njit
def _simulate(key_seed, n_citizens, horizon, cumprod, q, inv_log_none):
    """Firing patterns per day (bit s: stream s fired), first gaps, firings per stream."""
    n_streams = cumprod.shape[2] - 1  # (period, class, stream + 1)
    patterns = np.zeros(2**n_streams, dtype=np.int64)
    first_gaps = np.zeros(200, dtype=np.int64)
    fired = np.zeros(n_streams, dtype=np.int64)
    for cid in range(n_citizens):
        key = citizen_key(key_seed, cid)
        day, index = 0, 0
        while True:
            nxt = _next_candidate_day(key, 0, index, day, q, inv_log_none, horizon)
            if nxt > horizon:
                break
            if index == 0:  # the first gap from day 0 is never cut short for k < horizon
                first_gaps[min(nxt, 199)] += 1
            day = nxt
            index += 1
            pattern, step = 0, 0
            s = _first_firing(cumprod, 0, 0, uniform(key, SELECT, 0, day))
            while s >= 0:
                pattern |= 1 << s
                fired[s] += 1
                step += 1
                s = _next_firing(cumprod, 0, 0, s, uniform(key, SELECT, step, day))
            patterns[pattern] += 1
        patterns[0] += horizon - index  # days on which nothing fired
    return patterns, first_gaps, fired


def test_firing_patterns_and_gaps_match_independent_bernoullis():
    cumprod, q, inv = _process_tables(P[None, :])
    n, horizon = 20_000, 100
    patterns, gaps, _ = _simulate(np.uint64(seed_key(5)), n, horizon, cumprod[None], q[0], inv[0])
    expected = np.zeros(8)
    for bits in itertools.product((0, 1), repeat=3):
        pattern = sum(b << k for k, b in enumerate(bits))
        expected[pattern] = np.prod([P[k] if b else 1 - P[k] for k, b in enumerate(bits)])
    assert patterns.sum() == n * horizon
    assert stats.chisquare(patterns, expected * n * horizon).pvalue > 1e-4

    # First gaps ~ Geometric(Q) on 1, 2, ...: compare k = 1..20 and pool k > 20.
    q = 1 - np.prod(1 - P)
    k = np.arange(1, 21)
    observed = np.append(gaps[1:21], n - gaps[1:21].sum())
    expected_gaps = np.append(q * (1 - q) ** (k - 1), (1 - q) ** 20) * n
    assert stats.chisquare(observed, expected_gaps).pvalue > 1e-4


def test_streams_with_zero_rate_never_fire():
    """Each stream fires Binomial(n x horizon, p) times; zero-rate streams never."""
    p = np.array([0.0, 0.3, 0.0, 0.2, 0.0])
    cumprod, q, inv = _process_tables(p[None, :])
    n, horizon = 2000, 100
    _, _, fired = _simulate(np.uint64(seed_key(8)), n, horizon, cumprod[None], q[0], inv[0])
    assert fired[[0, 2, 4]].sum() == 0
    trials = n * horizon
    for k in (1, 3):
        sd = np.sqrt(trials * p[k] * (1 - p[k]))
        assert abs(fired[k] - trials * p[k]) < 5 * sd
