"""Replicate seeds, derived from one root seed by a documented scheme.

Replicate r (0, 1, 2, ...) of root seed s runs with seed

    mix64(mix64(s) + (r + 1) * 0x9E3779B97F4A7C15 mod 2**64) >> 1

where mix64 is the SplitMix64 finaliser of ``scsim.rng.counter``: distinct
replicates get unrelated seeds in [0, 2**63), the same (s, r) always gives
the same seed, and adding replicates never changes earlier ones.  Sweep
points share these seeds (common random numbers across points).
"""

from __future__ import annotations

WEYL = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
SCHEME = "seed_r = mix64(mix64(root) + (r + 1) * 0x9E3779B97F4A7C15 mod 2**64) >> 1"


def _mix64(z: int) -> int:
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def replicate_seed(root: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` (from 0) under root seed ``root``."""
    return _mix64(_mix64(root) + (replicate + 1) * WEYL) >> 1
