"""Counter-based random numbers: every draw is a pure function of its address.

A draw is ``mix64(citizen_key + address * WEYL)``, where the citizen key is a
hash of the run seed and the citizen id, and the address packs a *purpose*, a
*stream* and a *counter* (a day, or the index of a candidate event). Nothing is
carried between draws, so a citizen's numbers do not depend on which other
citizens exist, on the thread that simulates it, or on how the population is
cut into chunks; and two runs with the same seed give the same citizen the same
numbers (common random numbers).

``mix64`` is the SplitMix64 finaliser (Steele, Lea & Flood 2014), a bijection
on 64-bit integers with full avalanche; SplitMix64, i.e. this finaliser
applied to a Weyl sequence, passes BigCrush.  Every function has a NumPy twin
(``*_np``) used by the tests and by code that is not performance critical.
"""

from __future__ import annotations

import numpy as np
from numba import int64, njit, uint64

import scsim.kernels.cache  # noqa: F401  (keys numba's cache on the kernels' sources first)

MASK64 = (1 << 64) - 1
WEYL = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_S16 = np.uint64(16)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

# Purposes of a draw.  Changing these values changes every result: they are
# part of the model's definition, like the seed.  A mechanism module declares
# its own (``Mechanism.purposes``); a test keeps every number unique.
TRAIT = 1  # a citizen's fixed traits (stream = which trait)
GAP = 2  # gap to the next candidate day of a candidate process
SELECT = 3  # which streams fire on a candidate day
ACCEPT = 4  # thinning: is a candidate event committed at the current rate
RECORD = 5  # is a committed event recorded by its channel
# 6: TRIP (scsim.mechanisms.travel_ban)
# 7: APPEAL (scsim.mechanisms.appeals)
# 8: REPAIR (scsim.mechanisms.credit_repair)
# 9: REVIEW (scsim.mechanisms.human_review)
# 10: CONTACT (scsim.mechanisms.deterrence)
# 11: SCHOOL (scsim.mechanisms.school_admission); 12: LOAN (scsim.mechanisms.loan_denial)
LIFE = 13  # population turnover: a citizen's age within its band (stream 0), death (stream 1)
BIRTH = 14  # births to an adult: the gap to the i-th (stream 0), that newborn's death (stream 1)
# 15: PROSECUTE (scsim.mechanisms.prosecution); 16: SCHOOL_PRIORITY
# (scsim.mechanisms.school_priority); 17: CAMP (scsim.mechanisms.camps);
# 18: DEBTOR (scsim.mechanisms.judgments); 19: EMPLOYMENT (scsim.mechanisms.employment_penalty)


@njit(uint64(uint64), cache=True)
def mix64(z):
    """SplitMix64 finaliser: a well-mixing bijection of 64-bit integers."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def citizen_key(seed_key, citizen_id):
    """The key from which all of one citizen's draws are derived."""
    return mix64(seed_key + uint64(citizen_id) * WEYL)


@njit(cache=True)
def draw_bits(key, purpose, stream, counter):
    """64 random bits at address (purpose, stream, counter) of a citizen key.

    purpose < 2**16, stream < 2**16, counter < 2**32: the packed address is
    unique, and multiplying by an odd constant keeps it unique modulo 2**64.
    """
    address = (
        (uint64(purpose) << _S16 | uint64(stream)) << _S32
    ) | uint64(counter)
    return mix64(key + address * WEYL)


@njit(cache=True)
def uniform(key, purpose, stream, counter):
    """A double in [0, 1) with 53 random bits.

    The conversion goes through int64 (one instruction); uint64 to double is
    a branchy sequence on x86-64.
    """
    return float(int64(draw_bits(key, purpose, stream, counter) >> _S11)) * _TO_UNIT


# --- NumPy twins -----------------------------------------------------------


def _mix64_int(z: int) -> int:
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def seed_key(seed: int) -> int:
    """The run key derived from a user seed (any integer in [0, 2**63))."""
    return _mix64_int(_mix64_int(seed) ^ 0x5C5C5C5C5C5C5C5C)


def mix64_np(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def citizen_key_np(seed_key_value: int, citizen_ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(citizen_ids, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix64_np(np.uint64(seed_key_value) + ids * WEYL)


def uniform_np(keys: np.ndarray, purpose: int, stream: int, counter) -> np.ndarray:
    address = np.uint64((purpose << 16 | stream) << 32) | np.asarray(counter, dtype=np.uint64)
    with np.errstate(over="ignore"):
        bits = mix64_np(np.asarray(keys, dtype=np.uint64) + address * WEYL)
    return (bits >> _S11).astype(np.float64) * _TO_UNIT
