"""Exact expectations and variances of R0 quantities, derived from its definition.

Given a citizen's group g and income i, R0's streams are independent: each
behaviour b fires on a day with probability p_b(i) and is recorded with
probability r_b(g), so the number of recorded events of b over T days is
Binomial(T, p_b r_b), independent across b.  The one exception is speech,
whose rate halves after each recorded event; its recorded count H is a
pure-birth Markov chain, handled exactly by dynamic programming below.

Between groups and incomes, traits are independent draws, so a quantity's
per-citizen mean and variance over the income mixture follow from the law of
total variance:  Var X = E[Var(X | I)] + Var(E[X | I]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

T = 365
INCOME_WEIGHTS = {"low": 0.30, "normal": 0.70}
LATE = {"low": 0.002, "normal": 0.001}
COURT = {"low": 0.00009, "normal": 0.00003}
JAYWALK = 0.002
SPEECH = 0.0005
GOOD = 0.001
JAYWALK_RECORDED = {"majority": 0.30, "minority": 0.60}
SPEECH_RECORDED = {"majority": 0.20, "minority": 0.60}
LATE_RECORDED = 0.95
GOOD_RECORDED = 0.50
FALSE_RATE = {"majority": 1e-5, "minority": 1e-4}
POINTS = {"jaywalk": -5, "late": -20, "speech": -50, "good": 10, "court": -450, "false": -5}


@dataclass(frozen=True)
class Moments:
    mean: float
    var: float


def binomial(n: int, p: float) -> Moments:
    return Moments(n * p, n * p * (1 - p))


def speech_recorded(group: str, days: int = T) -> Moments:
    """Moments of H, the number of recorded speech events after ``days`` days.

    On a day with H = h, a recorded speech event happens with probability
    SPEECH * 2**-h * r (commit at the halved rate, then recorded), moving H to
    h + 1.  The distribution of H is propagated day by day.
    """
    r = SPEECH_RECORDED[group]
    dist = np.zeros(64)
    dist[0] = 1.0
    step = SPEECH * r * 0.5 ** np.arange(64)
    for _ in range(days):
        moved = dist * step
        dist = dist - moved
        dist[1:] += moved[:-1]
    h = np.arange(64)
    mean = float((dist * h).sum())
    return Moments(mean, float((dist * h * h).sum()) - mean**2)


def mixture(per_income: dict[str, Moments]) -> Moments:
    """Per-citizen moments over the income mixture (law of total variance)."""
    mean = sum(INCOME_WEIGHTS[i] * m.mean for i, m in per_income.items())
    second = sum(INCOME_WEIGHTS[i] * (m.var + m.mean**2) for i, m in per_income.items())
    return Moments(mean, second - mean**2)


def score_at_end(group: str) -> Moments:
    """Per-citizen moments of the score on day T for a citizen of ``group``.

    score = 1000 + sum_b points_b * recorded_b, ignoring clipping: reaching 0
    needs three court defaults in a year (probability < 1e-5, shifting the mean
    by < 0.005 points) and reaching 1300 needs 30 net good deeds (never).
    """
    h = speech_recorded(group)
    per_income = {}
    for i in INCOME_WEIGHTS:
        parts = [
            (POINTS["jaywalk"], binomial(T, JAYWALK * JAYWALK_RECORDED[group])),
            (POINTS["late"], binomial(T, LATE[i] * LATE_RECORDED)),
            (POINTS["speech"], h),
            (POINTS["good"], binomial(T, GOOD * GOOD_RECORDED)),
            (POINTS["court"], binomial(T, COURT[i])),
            (POINTS["false"], binomial(T, FALSE_RATE[group])),
        ]
        per_income[i] = Moments(
            1000 + sum(pts * m.mean for pts, m in parts),
            sum(pts**2 * m.var for pts, m in parts),
        )
    return mixture(per_income)


def blacklisted_probability() -> float:
    """P(score < 600 on day T) = P(at least one court default), up to < 1e-5.

    One court default (-450) puts the score at 550 + other points; climbing back
    to 600 needs 5 net recorded good deeds (mean 0.18 a year: probability
    < 2e-6).  Falling below 600 without a court default needs 20 recorded late
    payments (mean at most 0.7 a year: probability < 1e-20).
    """
    return sum(w * (1 - (1 - COURT[i]) ** T) for i, w in INCOME_WEIGHTS.items())


def court_defaults_per_citizen() -> Moments:
    return mixture({i: binomial(T, COURT[i]) for i in INCOME_WEIGHTS})


def recorded_late_payments_per_citizen() -> Moments:
    return mixture({i: binomial(T, LATE[i] * LATE_RECORDED) for i in INCOME_WEIGHTS})
