"""The counter-based generator: NumPy twin agreement, uniformity, independence."""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import stats

from scsim.rng.counter import GAP, citizen_key, citizen_key_np, seed_key, uniform, uniform_np


@njit
def _uniforms(key_seed, ids, purpose, stream, counter):
    out = np.empty(ids.shape[0])
    for k in range(ids.shape[0]):
        out[k] = uniform(citizen_key(key_seed, ids[k]), purpose, stream, counter)
    return out


def test_numba_and_numpy_twins_agree_bit_for_bit():
    ids = np.array([0, 1, 2, 2**31 + 5, 3 * 10**9, 2**62], dtype=np.int64)
    key = seed_key(12345)
    fast = _uniforms(np.uint64(key), ids, GAP, 7, 300)
    slow = uniform_np(citizen_key_np(key, ids), GAP, 7, 300)
    np.testing.assert_array_equal(fast, slow)


def test_uniformity_chi_square():
    """1e6 draws in 1000 equiprobable bins; chi-square p > 1e-4 (fixed seed)."""
    u = _uniforms(np.uint64(seed_key(1)), np.arange(1_000_000, dtype=np.int64), GAP, 0, 0)
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.histogram(u, bins=1000, range=(0, 1))[0]
    assert stats.chisquare(counts).pvalue > 1e-4


def test_neighbouring_addresses_are_uncorrelated():
    """Adjacent ids, streams and counters: |Pearson r| < 5 / sqrt(n) (5 sd under independence)."""
    n = 200_000
    ids = np.arange(n, dtype=np.int64)
    key = np.uint64(seed_key(99))
    base = _uniforms(key, ids, GAP, 0, 10)
    for other in (_uniforms(key, ids + 1, GAP, 0, 10), _uniforms(key, ids, GAP, 1, 10),
                  _uniforms(key, ids, GAP, 0, 11), _uniforms(key, ids, GAP + 1, 0, 10)):
        assert abs(np.corrcoef(base, other)[0, 1]) < 5 / np.sqrt(n)


def test_seeds_give_different_streams():
    ids = np.arange(1000, dtype=np.int64)
    a = _uniforms(np.uint64(seed_key(1)), ids, GAP, 0, 0)
    b = _uniforms(np.uint64(seed_key(2)), ids, GAP, 0, 0)
    assert not np.array_equal(a, b)
