"""The simulation kernel: every citizen of a chunk, over the whole horizon.

Citizens do not interact in the current model, so each one is simulated from
day 1 to day T before the next (citizen-major order), with its state in
registers.  Work follows events: the kernel jumps from one candidate day to
the next by geometric gaps, so a citizen costs a few draws per event rather
than one per day.

Daily aggregates per group are accumulated where they change: *flows*
(events on a day) are added at their day; *levels* (blacklisted, score sum,
grade counts, histogram) are recorded as changes at the day they happen and
prefix-summed over days afterwards.  Each worker owns one slice of every
buffer, and all sums are integers, so results are bit-identical whatever the
number of threads or the chunking.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from scsim.rng.counter import ACCEPT, GAP, RECORD, SELECT, TRAIT, TRIP, citizen_key, uniform

# Level columns (recorded as day-to-day changes).  The kernel counts each
# citizen once in LEVEL_POPULATION on day 0; since every citizen starts in the
# same state, the other day-0 levels are filled in afterwards from that count.
LEVEL_POPULATION = 0
LEVEL_SCORE_SUM = 1
LEVEL_BLACKLISTED = 2
LEVEL_WRONGLY_BLACKLISTED = 3
LEVEL_WITH_FALSE_RECORDS = 4
LEVEL_FIRST_GRADE = 5

# Flow columns: committed[B], recorded[B], then these, at 2 * B + offset.
FLOW_FALSE_RECORDS = 0
FLOW_DENIED_TRIPS = 1
FLOW_ENTERED_BLACKLIST = 2
FLOW_LEFT_BLACKLIST = 3
N_OTHER_FLOWS = 4

# Processes (the stream numbers of their GAP and SELECT draws).
BEHAVIOUR_PROCESS = 0
FALSE_PROCESS = 1
_SELECT_STRIDE = 4096  # streams of SELECT draws: process * stride + step


def n_flow_columns(n_behaviours: int) -> int:
    return 2 * n_behaviours + N_OTHER_FLOWS


def n_level_columns(n_grades: int) -> int:
    return LEVEL_FIRST_GRADE + n_grades


@njit(inline="always", cache=True)
def _categorical(u, cumulative):
    k = 0
    while u >= cumulative[k]:
        k += 1
    return k


@njit(inline="always", cache=True)
def _trait(key, which, cumulative):
    """A categorical trait from the citizen's hash (no draw when there is one category)."""
    if cumulative.shape[0] == 1:
        return 0
    return _categorical(uniform(key, TRAIT, which, 0), cumulative)


@njit(inline="always", cache=True)
def _next_candidate_day(key, process, index, day, q, inv_log_none, horizon):
    """The next day after ``day`` on which at least one stream of a process fires.

    Gap ~ Geometric(q) on {1, 2, ...}, drawn by inversion: P(gap > k) =
    P(1 - u <= (1 - q)^k) = (1 - q)^k, so gap = 1 + floor(ln(1 - u) / ln(1 - q)).
    The logarithm is skipped when the gap surely passes the horizon: with
    k = horizon - day days left, (1 - q)^k >= 1 - k q (Bernoulli's inequality),
    so u >= k q implies gap > k.  For rare processes that is almost always.
    """
    if q == 0.0:
        return horizon + 1
    u = uniform(key, GAP, process, index)
    if u >= (horizon - day) * q:
        return horizon + 1
    steps = math.log(1.0 - u) * inv_log_none
    if steps >= horizon:
        return horizon + 1
    return day + 1 + int(steps)


@njit(inline="always", cache=True)
def _first_firing(cumprod, c, u):
    """Which stream fires first, given that at least one fires on this day.

    P(first <= t | any) = (1 - P[t+1]) / (1 - P[S]); the smallest t with
    P[t+1] < 1 - u (1 - P[S]) is the inverse.  Streams with p = 0 never win
    because the inequality is strict.
    """
    n = cumprod.shape[1] - 1
    threshold = 1.0 - u * (1.0 - cumprod[c, n])
    for t in range(n):
        if cumprod[c, t + 1] < threshold:
            return t
    return n - 1


@njit(inline="always", cache=True)
def _next_firing(cumprod, c, after, u):
    """The next stream after ``after`` that fires too (unconditioned), or -1.

    P(next <= t) = 1 - P[t+1] / P[after+1].
    """
    n = cumprod.shape[1] - 1
    threshold = cumprod[c, after + 1] * (1.0 - u)
    for t in range(after + 1, n):
        if cumprod[c, t + 1] < threshold:
            return t
    return -1


@njit(inline="always", cache=True)
def _grade(score, grade_min):
    for k in range(grade_min.shape[0]):
        if score >= grade_min[k]:
            return k
    return grade_min.shape[0] - 1


@njit(inline="always", cache=True)
def _deny_trips(key, first_day, last_day, trip_prob, flows, g, column):
    """Trip attempts on blacklisted days, each decided by a draw keyed by day."""
    if trip_prob <= 0.0:
        return
    for d in range(first_day, last_day + 1):
        if uniform(key, TRIP, 0, d) < trip_prob:
            flows[d, g, column] += 1


@njit(inline="always", cache=True)
def simulate_citizen(citizen_id, seed_key, horizon, t, flows, levels, hist, rate_multiplier):
    """Simulate one citizen over days 1..horizon; return (final score, false records).

    ``flows``, ``levels`` and ``hist`` are this worker's buffers, indexed
    [day, group, column]; levels and histogram hold changes on the day they
    happen (day 0: only the population count).
    """
    n_behaviours = t.points.shape[0]
    col_false = 2 * n_behaviours + FLOW_FALSE_RECORDS
    col_denied = 2 * n_behaviours + FLOW_DENIED_TRIPS
    col_entered = 2 * n_behaviours + FLOW_ENTERED_BLACKLIST
    col_left = 2 * n_behaviours + FLOW_LEFT_BLACKLIST
    width = t.score_bin_width

    key = citizen_key(seed_key, citizen_id)
    g = _trait(key, 0, t.group_cum)
    i = _trait(key, 1, t.income_cum)
    r = _trait(key, 2, t.region_cum)
    c = (g * t.n_incomes + i) * t.n_regions + r
    # No array views here: each view would cost an atomic reference count
    # increment and decrement per citizen; everything is indexed in place.
    behaviour_cumprod = t.behaviour_cumprod
    false_cumprod = t.false_cumprod
    trip_prob = t.trip_prob[c]
    n_grades = t.grade_min.shape[0]

    levels[0, g, LEVEL_POPULATION] += 1
    score = t.start_score
    n_false = 0
    blacklisted = score < t.blacklist_below
    blacklisted_since = 1
    grade = _grade(score, t.grade_min)
    for b in range(n_behaviours):
        rate_multiplier[b] = 1.0

    behaviour_index = 0
    false_index = 0
    behaviour_q = t.behaviour_q[c]
    behaviour_inv = t.behaviour_inv_log_none[c]
    false_q = t.false_q[c]
    false_inv = t.false_inv_log_none[c]
    next_behaviour = _next_candidate_day(
        key, BEHAVIOUR_PROCESS, behaviour_index, 0, behaviour_q, behaviour_inv, horizon
    )
    next_false = _next_candidate_day(
        key, FALSE_PROCESS, false_index, 0, false_q, false_inv, horizon
    )
    while True:
        day = min(next_behaviour, next_false)
        if day > horizon:
            break
        change = 0
        new_false = 0
        if next_behaviour == day:
            step = 0
            b = _first_firing(behaviour_cumprod, c, uniform(key, SELECT, 0, day))
            while b >= 0:
                committed = True
                if t.adapt_factor[b] < 1.0:
                    committed = uniform(key, ACCEPT, b, day) < rate_multiplier[b]
                if committed:
                    flows[day, g, b] += 1
                    if uniform(key, RECORD, b, day) < t.record_prob[c, b]:
                        flows[day, g, n_behaviours + b] += 1
                        change += t.points[b]
                        rate_multiplier[b] *= t.adapt_factor[b]
                step += 1
                b = _next_firing(behaviour_cumprod, c, b, uniform(key, SELECT, step, day))
            behaviour_index += 1
            next_behaviour = _next_candidate_day(
                key, BEHAVIOUR_PROCESS, behaviour_index, day, behaviour_q, behaviour_inv, horizon
            )
        if next_false == day:
            step = 0
            f = _first_firing(false_cumprod, c, uniform(key, SELECT, _SELECT_STRIDE, day))
            while f >= 0:
                new_false += 1
                change += t.false_points[f]
                step += 1
                f = _next_firing(
                    false_cumprod, c, f, uniform(key, SELECT, _SELECT_STRIDE + step, day)
                )
            false_index += 1
            next_false = _next_candidate_day(
                key, FALSE_PROCESS, false_index, day, false_q, false_inv, horizon
            )

        # Scoring and measures at the end of the day.
        new_score = min(max(score + change, t.min_score), t.max_score)
        if new_score != score:
            levels[day, g, LEVEL_SCORE_SUM] += new_score - score
            old_bin = (score - t.min_score) // width
            new_bin = (new_score - t.min_score) // width
            if old_bin != new_bin:
                hist[day, g, old_bin] -= 1
                hist[day, g, new_bin] += 1
            if n_grades > 0:
                new_grade = _grade(new_score, t.grade_min)
                if new_grade != grade:
                    levels[day, g, LEVEL_FIRST_GRADE + grade] -= 1
                    levels[day, g, LEVEL_FIRST_GRADE + new_grade] += 1
                    grade = new_grade
        flows[day, g, col_false] += new_false
        if n_false == 0 and new_false > 0:
            levels[day, g, LEVEL_WITH_FALSE_RECORDS] += 1
        was_wrong = blacklisted and n_false > 0
        now_blacklisted = new_score < t.blacklist_below
        n_false += new_false
        if now_blacklisted != blacklisted:
            if now_blacklisted:
                levels[day, g, LEVEL_BLACKLISTED] += 1
                flows[day, g, col_entered] += 1
                blacklisted_since = day
            else:
                levels[day, g, LEVEL_BLACKLISTED] -= 1
                flows[day, g, col_left] += 1
                _deny_trips(key, blacklisted_since, day - 1, trip_prob, flows, g, col_denied)
            blacklisted = now_blacklisted
        is_wrong = blacklisted and n_false > 0
        if is_wrong != was_wrong:
            levels[day, g, LEVEL_WRONGLY_BLACKLISTED] += 1 if is_wrong else -1
        score = new_score

    if blacklisted:
        _deny_trips(key, blacklisted_since, horizon, trip_prob, flows, g, col_denied)
    return score, n_false


@njit(cache=True, parallel=True)
def simulate_chunk(
    first_id, count, seed_key, horizon, t, flows, levels, hist, final_score, final_false
):
    """Simulate citizens first_id .. first_id + count - 1.

    Worker ``w`` takes a contiguous slice and adds into ``flows[w]``,
    ``levels[w]`` and ``hist[w]`` (never shared, so no false sharing); final
    states go to
    ``final_score[k]`` and ``final_false[k]`` for the k-th citizen of the chunk.
    """
    n_workers = flows.shape[0]
    per_worker = (count + n_workers - 1) // n_workers
    for w in prange(n_workers):
        lo = w * per_worker
        hi = min(count, lo + per_worker)
        rate_multiplier = np.ones(t.points.shape[0])
        flows_w = flows[w]  # views made once per worker, not once per citizen
        levels_w = levels[w]
        hist_w = hist[w]
        for k in range(lo, hi):
            score, n_false = simulate_citizen(
                first_id + k, seed_key, horizon, t, flows_w, levels_w, hist_w, rate_multiplier
            )
            final_score[k] = score
            final_false[k] = min(n_false, 255)
