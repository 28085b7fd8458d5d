"""The simulation kernel: one neighbourhood at a time, over the whole horizon.

Citizens interact only inside a neighbourhood (a block of consecutive ids:
households, and contacts for spillovers), so the kernel simulates one
neighbourhood from day 1 to day T before the next.  Without households a
neighbourhood is a single citizen.  Work follows events: each citizen jumps
from one candidate day to the next by geometric gaps, so a citizen costs a
few draws per event rather than one per day.  When spillovers are on, the
members of a neighbourhood advance in day order (a heap of their next event
days); otherwise one after the other, which gives the same result.

Daily aggregates per group are accumulated where they change: *flows*
(events on a day) are added at their day; *levels* (blacklisted, score sum,
grade counts, histogram) are recorded as changes at the day they happen and
prefix-summed over days afterwards.  Each worker owns one slice of every
buffer, and all sums are integers, so results are bit-identical whatever the
number of threads or the chunking.

A neighbourhood can be simulated under two scenarios (the run and its
counterfactual) and, where false records counted, once more without false
records (the *shadow*): every draw is addressed by (seed, citizen, purpose,
stream, day or index), so the same citizen meets the same draws in every
variant, and per-citizen differences are exact.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

import scsim.kernels.cache  # noqa: F401  (keys numba's cache on the kernels' sources first)
from scsim.kernels.layout import (  # (the mechanisms' hooks use these names too)
    ADULT,
    CHILD,
    ELDER,
    FLOW_APPEALS_WON,
    FLOW_BIRTHS,
    FLOW_CAME_OF_AGE,
    FLOW_DEATHS,
    FLOW_DEATHS_OF_SCORED,
    FLOW_ENTERED_BLACKLIST,
    FLOW_EXPIRED,
    FLOW_FALSE_RECORDS,
    FLOW_LEFT_BLACKLIST,
    FLOW_LEFT_BY_APPEAL,
    FLOW_LEFT_BY_DEATH,
    FLOW_LEFT_BY_EXPIRY,
    FLOW_LEFT_BY_OTHER,
    FLOW_LEFT_BY_REPAIR,
    FLOW_REPAIRED,
    GOOD_DEED,  # noqa: F401
    LAWFUL,  # noqa: F401
    LEDGER_SQ_HIGH,
    LEDGER_SQ_LOW,
    LEDGER_SUM,
    LEVEL_BLACKLISTED,
    LEVEL_BLACKLISTED_WITH_FALSE,
    LEVEL_POPULATION,
    LEVEL_SCORE_SUM,
    LEVEL_SCORED,
    LEVEL_WITH_FALSE_RECORDS,
    LEVEL_WRONGLY_BLACKLISTED,
    N_AGE_BANDS,
    N_CORE_FLOWS,
    N_CORE_LEVELS,
    N_CORE_OUTCOMES,
    N_CORE_QUANTITIES,
    N_CORE_STATE,
    NEVER,
    OFFENCE,
    OUT_DAYS_BLACKLISTED,
    OUT_EVER_BLACKLISTED,
    OUT_FALSE_IN_BURN_IN,
    OUT_FALSE_RECORDS,
    OUT_GROUP,
    OUT_OFFENCES,
    OUT_SPEECH,
    OUT_SPEECH_BLOCKED,
    Q_BEHAVIOURS_PREVENTED,
    Q_COUNTERFACTUAL_SANCTIONED,
    Q_DAYS_BLACKLISTED,
    Q_DAYS_WRONGLY_BLACKLISTED,
    Q_FALSE_RECORDS,
    Q_SANCTIONED,
    Q_SPEECH_BLOCKED,
    Q_SPEECH_CHILLED,
    Q_SPEECH_LOST,
    Q_WRONGLY_SANCTIONED,
    SPEECH,
)
from scsim.rng.counter import (
    ACCEPT,
    BIRTH,
    GAP,
    LIFE,
    RECORD,
    SELECT,
    TRAIT,
    citizen_key,
    uniform,
)

# --- the layout of this kernel: rewritten by scsim.kernels.generate ---------------
# (as written here: a kernel without mechanism modules)
MECHANISMS = ()
N_NAMED_FLOWS = N_CORE_FLOWS
N_NAMED_LEVELS = N_CORE_LEVELS
N_STATE = N_CORE_STATE
N_OUTCOMES = N_CORE_OUTCOMES
N_QUANTITIES = N_CORE_QUANTITIES
SCHEDULED = False  # values change over the run (tables have more than one period)
TURNOVER = False  # citizens age, are born and die
TIMED = False  # a mechanism wakes members on days of its own (S_TIMER)
PILOTS = False  # cities with point schemes of their own (tables.n_schemes > 1)
SINGLE = False  # every neighbourhood is one citizen (no households): its loops are constant
LEAN = False  # single, one period, no turnover or pilots, hooks only at spell_closed and
# ledger: an unpaired run takes simulate_singles
# --- end of the layout ----------------------------------------------------------------
OUT_SCORE = N_OUTCOMES - 1  # with pilots only (layout.PILOT_OUTCOMES, last)

_SQ_BASE = 1 << 62  # squares are summed exactly in two int64 words: low < 2**62

# Member state: int64 columns of ``state`` (``kernels/layout.CORE_STATE`` names them in
# this order; mechanism modules add theirs after these, as ``S.name``).
S_ID = 0
S_CLASS = 1
S_GROUP = 2
S_HOUSEHOLD = 3
S_AGE = 4
S_SCORE = 5
S_GRADE = 6
S_BLACKLISTED = 7
S_SINCE = 8
S_FALSE_ACTIVE = 9
S_NEXT_BEHAVIOUR = 10
S_BEHAVIOUR_INDEX = 11
S_NEXT_FALSE = 12
S_FALSE_INDEX = 13
S_NEXT_TIMED = 14
S_RECORDS_HEAD = 15
S_NEXT = 16
S_NEXT_WAKE = 17  # the next day a period starts that changes the member's class
S_DEATH = 18  # population turnover: the day the member dies (NEVER: not in the run)
S_ELDER_DAY = 19  # the day an adult becomes an elder
S_START = 20  # the first day a member is scored (a child coming of age; else 0)
S_TIMER = 21  # the next day a mechanism needs the member (its ``timer`` hooks re-arm it)
S_LEDGER_CELL = 22  # (class region, age band on day 0, income): with the group, the ledger row
# float64 columns of ``risk`` (kept by the deterrence module): the value on its risk day, and
# a jump pending from its pending day.
F_RISK = 0
F_PENDING = 1

# Records that will be removed later: int64 columns of ``records``, a pool
# with a free list; each member's pending records form a linked list.
R_DUE = 0
R_POINTS = 1
R_FLAGS = 2
R_NEXT = 3
N_RECORD_FIELDS = 4
FLAG_FALSE = 1
FLAG_LISTS = 2
REMOVE_EXPIRE = 4
REMOVE_APPEAL = 8
REMOVE_REPAIR = 16
# ``free_head[0]`` is the head of the worker's free list of record entries,
# ``free_head[1]`` its length;
# ``spell_count[0]`` the number of spells used in a spells table (member, first, last day).

# Processes (the stream numbers of their GAP and SELECT draws).
BEHAVIOUR_PROCESS = 0
FALSE_PROCESS = 1
_SELECT_STRIDE = 4096  # streams of SELECT draws: process * stride + step


@njit(inline="always", cache=True)
def _categorical(u, cumulative):
    k = 0
    while u >= cumulative[k]:
        k += 1
    return k


@njit(inline="always", cache=True)
def _trait(key, which, cumulative):
    """A categorical trait from a hash (no draw when there is one category)."""
    if cumulative.shape[0] == 1:
        return 0
    return _categorical(uniform(key, TRAIT, which, 0), cumulative)


@njit(inline="always", cache=True)
def _group(key, group_cum, region):
    """The citizen's group, from the shares of their region (row ``region`` of ``group_cum``)."""
    if group_cum.shape[1] == 1:
        return 0
    u = uniform(key, TRAIT, 0, 0)
    k = 0
    while u >= group_cum[region, k]:
        k += 1
    return k


@njit(cache=True)
def _next_candidate_day(key, process, index, day, q, inv_log_none, horizon):
    """The next day after ``day`` on which at least one stream of a process fires.

    Gap ~ Geometric(q) on {1, 2, ...}, drawn by inversion: P(gap > k) =
    P(1 - u <= (1 - q)^k) = (1 - q)^k, so gap = 1 + floor(ln(1 - u) / ln(1 - q)).
    The logarithm is skipped when the gap surely passes the horizon: with
    k = horizon - day days left, (1 - q)^k >= 1 - k q (Bernoulli's inequality),
    so u >= k q implies gap > k.  For rare processes that is almost always.
    """
    if q == 0.0:
        return NEVER
    u = uniform(key, GAP, process, index)
    if u >= (horizon - day) * q:
        return NEVER
    steps = math.log(1.0 - u) * inv_log_none
    if steps >= horizon:
        return NEVER
    return day + 1 + int(steps)


@njit(cache=True)
def _restart(state, m, process, key, day, q, inv_log_none, horizon):
    """Redraw a process's next candidate day from ``day`` on (its rates change today): the
    gaps are memoryless, so dropping the pending candidate and drawing afresh is exact.
    (Called only when a period starts, so passing ``state`` costs nothing that matters.)"""
    behaviour = process == BEHAVIOUR_PROCESS
    index = S_BEHAVIOUR_INDEX if behaviour else S_FALSE_INDEX
    state[m, index] += 1
    state[m, S_NEXT_BEHAVIOUR if behaviour else S_NEXT_FALSE] = _next_candidate_day(
        key, process, state[m, index], day - 1, q, inv_log_none, horizon)


@njit(inline="always", cache=True)
def _death_day(u, age_days, h_child, h_adult, h_elder, adult_days, elder_days, horizon):
    """The first day on which a citizen aged ``age_days`` on day 0 is dead, or NEVER.

    Deaths come at a constant daily hazard per age band; the cumulative hazard is
    piecewise linear in time, so the death time is where it reaches an Exp(1) draw,
    -ln(1 - u): exact, band by band.  (Scalars only: see simulate_batch on why.)
    """
    need = -math.log(1.0 - u)
    time = 0.0
    age = age_days
    while time <= horizon:
        if age < adult_days:
            h, end = h_child, adult_days
        elif age < elder_days:
            h, end = h_adult, elder_days
        else:
            h, end = h_elder, math.inf  # the last band never ends
        if h > 0.0 and h * (end - age) >= need:
            day = int(time + need / h) + 1
            return day if day <= horizon else NEVER
        if end == math.inf:
            return NEVER
        need -= h * (end - age)
        time += end - age
        age = end
    return NEVER


@njit(inline="always", cache=True)
def _first_firing(cumprod, k, c, u):
    """Which stream fires first, given that at least one fires on this day.

    P(first <= t | any) = (1 - P[t+1]) / (1 - P[S]); the smallest t with
    P[t+1] < 1 - u (1 - P[S]) is the inverse.  Streams with p = 0 never win
    because the inequality is strict.
    """
    n = cumprod.shape[2] - 1
    threshold = 1.0 - u * (1.0 - cumprod[k, c, n])
    for t in range(n):
        if cumprod[k, c, t + 1] < threshold:
            return t
    return n - 1


@njit(inline="always", cache=True)
def _next_firing(cumprod, k, c, after, u):
    """The next stream after ``after`` that fires too (unconditioned), or -1.

    P(next <= t) = 1 - P[t+1] / P[after+1].
    """
    n = cumprod.shape[2] - 1
    threshold = cumprod[k, c, after + 1] * (1.0 - u)
    for t in range(after + 1, n):
        if cumprod[k, c, t + 1] < threshold:
            return t
    return -1


@njit(inline="always", cache=True)
def _score_bin(score, min_score, width):
    """The histogram bin of a score (never below ``min_score``).  At the default width of 1
    there is no division: a 64-bit integer division costs tens of cycles, and a score change
    needs two (R0: docs/performance.md)."""
    if width == 1:
        return score - min_score
    return (score - min_score) // width


@njit(inline="always", cache=True)
def _grade(score, grade_min):
    for k in range(grade_min.shape[0]):
        if score >= grade_min[k]:
            return k
    return grade_min.shape[0] - 1


@njit(inline="always", cache=True)
def _scheme_grade(score, grade_min, lo, hi):
    """The grade of a score among one scheme's grades ``lo .. hi - 1`` of every scheme's;
    a scheme without grades gives ``grade_min.shape[0]`` (no grade: nothing counts it)."""
    if lo == hi:
        return grade_min.shape[0]
    for k in range(lo, hi):
        if score >= grade_min[k]:
            return k
    return hi - 1


@njit(inline="always", cache=True)
def _ledger_cell(income, age, class_region, n_incomes):
    """A member's ledger cell, fixed at set-up: income + incomes x (age band + bands x class
    region); the scheme and the region follow from the class region (``scsim.ledger``)."""
    return income + n_incomes * (age + N_AGE_BANDS * class_region)


@njit(inline="always", cache=True)
def _scheme_of(class_region, n_regions):
    """The scheme of a class region: 0 (national) for a region, 1 + k for pilot k's."""
    return 0 if class_region < n_regions else class_region - n_regions + 1


@njit(inline="always", cache=True)
def _class_region(unit_key, region, pilot_cum, pilot_class_region):
    """The class region of a neighbourhood of ``region``: a pilot's, if the neighbourhood
    is in one (a draw of its own, so that pilots move no other draw), else the region."""
    if pilot_cum[region, 0] < 0.0:
        return region
    u = uniform(unit_key, TRAIT, 6, 0)
    for j in range(pilot_cum.shape[1]):
        if u < pilot_cum[region, j]:
            return pilot_class_region[region, j]
    return region


@njit(cache=True)
def refused_on_listed_days(key, purpose, first_day, last_day, rate, flows, g, column):
    """Attempts (a loan, a ticket) on each listed day, each a draw keyed by the day, are
    refused: counted in ``flows[day, g, column]``; returns how many (for mechanism hooks)."""
    refused = 0
    if rate <= 0.0:
        return 0
    for d in range(first_day, last_day + 1):
        if uniform(key, purpose, 0, d) < rate:
            flows[d, g, column] += 1
            refused += 1
    return refused


@njit(cache=True)
def refused_on_listed_days_by_period(key, purpose, first_day, last_day, rates, period_of_day,
                                     flows, g, column):
    """As ``refused_on_listed_days``, where the rate may change: ``rates[k]`` in period k (of
    each day: ``period_of_day``); no draw is made on a day of rate 0."""
    refused = 0
    for d in range(first_day, last_day + 1):
        rate = rates[period_of_day[d]]
        if rate > 0.0 and uniform(key, purpose, 0, d) < rate:
            flows[d, g, column] += 1
            refused += 1
    return refused


@njit(cache=True)
def parent_listed(spells, spell_lo, spell_hi, ob, state, child, day):
    """Whether an adult of the child's household is listed on ``day`` (spells of the
    neighbourhood: rows ``spell_lo .. spell_hi - 1``; for mechanism hooks).  School
    admission writes the same loop out in its hook: called there, once per application, the
    call cost about 3% of the national preset's time."""
    for row in range(spell_lo, spell_hi):
        parent = spells[row, 0] - ob
        if (
            state[parent, S_HOUSEHOLD] == state[child, S_HOUSEHOLD]
            and state[parent, S_AGE] == ADULT
            and spells[row, 1] <= day
            and day <= spells[row, 2]
        ):
            return True
    return False


@njit(inline="always", cache=True)
def _add_level(levels, day, horizon, g, column, delta):
    if day <= horizon:
        levels[day, g, column] += delta


# --- records that will be removed ---------------------------------------------------


@njit(cache=True)
def new_records(capacity):
    """A pool of record entries, all on the free list (entry k links to k + 1)."""
    records = np.zeros((capacity, N_RECORD_FIELDS), dtype=np.int64)
    for k in range(capacity):
        records[k, R_NEXT] = k + 1
    records[capacity - 1, R_NEXT] = -1
    return records


@njit(cache=True)
def grow_records(records, free_head, need):
    """Add at least ``need`` free entries; return the new pool."""
    old = records.shape[0]
    bigger = np.empty((2 * old + need, N_RECORD_FIELDS), dtype=np.int64)
    bigger[:old] = records
    for k in range(old, bigger.shape[0] - 1):
        bigger[k, R_NEXT] = k + 1
    bigger[bigger.shape[0] - 1, R_NEXT] = free_head[0]
    free_head[0] = old
    free_head[1] += bigger.shape[0] - old
    return bigger


@njit(cache=True)
def grow_spells(spells, need):
    bigger = np.empty((2 * spells.shape[0] + need, 3), dtype=np.int64)
    bigger[: spells.shape[0]] = spells
    return bigger


@njit(inline="always", cache=True)
def _free_pending(state, records, free_head, m):
    """Return the member's pending records to the free list."""
    k = state[m, S_RECORDS_HEAD]
    while k >= 0:
        following = records[k, R_NEXT]
        records[k, R_NEXT] = free_head[0]
        free_head[0] = k
        free_head[1] += 1
        k = following
    state[m, S_RECORDS_HEAD] = -1


@njit(inline="always", cache=True)
def _schedule_removal(state, records, free_head, m, due, points, flags):
    k = free_head[0]
    free_head[0] = records[k, R_NEXT]
    free_head[1] -= 1
    records[k, R_DUE] = due
    records[k, R_POINTS] = points
    records[k, R_FLAGS] = flags
    records[k, R_NEXT] = state[m, S_RECORDS_HEAD]
    state[m, S_RECORDS_HEAD] = k
    if due < state[m, S_NEXT_TIMED]:
        state[m, S_NEXT_TIMED] = due


@njit(inline="always", cache=True)
def _removal_flows(flags):
    """The flows that count a record's removal (won on appeal, repaired or expired) and the
    exit from the list it brings, should it end the listing."""
    if flags & REMOVE_APPEAL:
        return FLOW_APPEALS_WON, FLOW_LEFT_BY_APPEAL
    if flags & REMOVE_REPAIR:
        return FLOW_REPAIRED, FLOW_LEFT_BY_REPAIR
    return FLOW_EXPIRED, FLOW_LEFT_BY_EXPIRY


@njit(cache=True)
def _remove_due(state, records, free_head, m, day, mp, flows, g, outcomes, ob):
    """Remove the member's records due on ``day``; return the points restored and the flow of
    the exit from the list the last removal would bring (-1: no removal)."""
    restored = 0
    last_exit = -1
    next_due = NEVER
    previous = -1
    k = state[m, S_RECORDS_HEAD]
    while k >= 0:
        following = records[k, R_NEXT]
        if records[k, R_DUE] == day:
            flags = records[k, R_FLAGS]
            restored -= records[k, R_POINTS]
            if flags & FLAG_FALSE:
                state[m, S_FALSE_ACTIVE] -= 1
            # (a hook may count the removal, and the exit it brings, in flows of its own)
            column, exit_column = _removal_flows(flags)
            # @hook record_removed
            flows[day, g, column] += 1
            last_exit = exit_column
            if previous < 0:
                state[m, S_RECORDS_HEAD] = following
            else:
                records[previous, R_NEXT] = following
            records[k, R_NEXT] = free_head[0]
            free_head[0] = k
            free_head[1] += 1
        else:
            next_due = min(next_due, records[k, R_DUE])
            previous = k
        k = following
    state[m, S_NEXT_TIMED] = next_due
    return restored, last_exit


# --- one member, one day --------------------------------------------------------------


@njit(cache=True)
def _enter_blacklist(
    m,
    ob,
    day,
    k,
    state,
    risk,
    outcomes,
    members,
    n_members,
    seed_key,
    horizon,
    interacting,
    mp,
    flows,
    levels,
):
    g = state[m, S_GROUP]
    c = state[m, S_CLASS]  # noqa: F841  (for the hooks)
    state[m, S_BLACKLISTED] = 1
    state[m, S_SINCE] = day
    levels[day, g, LEVEL_BLACKLISTED] += 1
    flows[day, g, FLOW_ENTERED_BLACKLIST] += 1
    outcomes[ob + m, OUT_EVER_BLACKLISTED] = 1
    # @hook listed


@njit(cache=True)
def _spell_closed(m, ob, first, last_day, key, g, c, outcomes, mp, flows, t):
    """A blacklisted spell of member ``m`` (batch row ``ob + m``) from ``first`` to
    ``last_day``: its outcomes and the mechanisms' hooks where a spell closes.  Both kernels
    call it (the general one through ``_close_spell``), so the site is in one place."""
    days = last_day - first + 1
    outcomes[ob + m, OUT_DAYS_BLACKLISTED] += days
    if days > 0:  # (a spell split at the end of a burn-in may end before it starts)
        outcomes[ob + m, OUT_EVER_BLACKLISTED] = 1
    # @hook spell_closed


@njit(inline="always", cache=True)
def _forget_the_burn_in(outcomes, ob, m):
    """A member's outcomes start again from zero when a burn-in ends (at the report day, or
    at a death before it): nothing of the burn-in is reported, but the false records that
    counted in it, which the counterfactual's shadow needs."""
    burnt = outcomes[ob + m, OUT_FALSE_RECORDS]
    for o in range(N_OUTCOMES):
        outcomes[ob + m, o] = 0
    outcomes[ob + m, OUT_FALSE_IN_BURN_IN] = burnt


@njit(cache=True)
def _close_spell(m, ob, last_day, key, state, outcomes, spells, spell_count, mp, flows, t):
    """Account for a blacklisted spell from S_SINCE to ``last_day``, and keep it (a paired
    run compares spells; the closing hooks read them)."""
    first = state[m, S_SINCE]
    _spell_closed(m, ob, first, last_day, key, state[m, S_GROUP], state[m, S_CLASS], outcomes,
                  mp, flows, t)
    k = spell_count[0]
    spells[k, 0] = ob + m
    spells[k, 1] = first
    spells[k, 2] = last_day
    spell_count[0] = k + 1


@njit(cache=True)
def _leave_blacklist(
    m,
    ob,
    day,
    k,
    key,
    state,
    outcomes,
    spells,
    spell_count,
    horizon,
    mp,
    flows,
    levels,
    members,
    n_members,
    t,
    cause,
):
    """Member ``m`` leaves the list on ``day`` (listed through ``day - 1``), for the exit flow
    ``cause``."""
    g = state[m, S_GROUP]
    c = state[m, S_CLASS]  # noqa: F841  (for the hooks)
    state[m, S_BLACKLISTED] = 0
    levels[day, g, LEVEL_BLACKLISTED] -= 1
    flows[day, g, FLOW_LEFT_BLACKLIST] += 1
    flows[day, g, cause] += 1
    # @hook delisted
    _close_spell(m, ob, day - 1, key, state, outcomes, spells, spell_count, mp, flows, t)


# --- a neighbourhood ----------------------------------------------------------------


@njit(inline="always", cache=True)
def _heap_less(state, a, b):
    ka = state[a, S_NEXT]
    kb = state[b, S_NEXT]
    return ka < kb or (ka == kb and a < b)


@njit(inline="always", cache=True)
def _sift_down(heap, n, i, state):
    while True:
        smallest = i
        left = 2 * i + 1
        right = left + 1
        if left < n and _heap_less(state, heap[left], heap[smallest]):
            smallest = left
        if right < n and _heap_less(state, heap[right], heap[smallest]):
            smallest = right
        if smallest == i:
            return
        heap[i], heap[smallest] = heap[smallest], heap[i]
        i = smallest


NEEDS_ROOM = 1  # status: the record or spell pool ran short; grow it and call again
PHASE_FRESH, PHASE_STEPPING, PHASE_CLOSING = 0, 1, 2
# progress[]: phase, heap size, sequential position, members, first spell, and the
# neighbourhood a batch resumes at.
P_PHASE, P_HEAP, P_CURRENT, P_MEMBERS, P_SPELLS_FROM, P_UNIT = 0, 1, 2, 3, 4, 5
N_PROGRESS = 6


@njit(cache=True)
def neighbourhood_members(seed_key, unit_first, size, t):
    """(size, 7) group, income, region, age band, household, propensity and scheme of each
    member.

    The same derivation as the start of a neighbourhood in ``simulate_batch``
    (which cannot call it without slowing down), for ``scsim trace``; a test
    checks that the two agree.
    """
    traits = np.zeros((size, 7), dtype=np.int64)
    if not t.households:
        key = citizen_key(seed_key, unit_first)
        traits[0, 2] = _trait(key, 2, t.region_cum)
        traits[0, 0] = _group(key, t.group_cum, traits[0, 2])
        traits[0, 1] = _trait(key, 1, t.income_cum)
        traits[0, 3] = ADULT
        traits[0, 5] = _trait(key, 4, t.propensity_cum)
        rc = _class_region(key, traits[0, 2], t.pilot_cum, t.pilot_class_region)
        traits[0, 6] = _scheme_of(rc, t.region_cum.shape[0])
        return traits
    r = _trait(citizen_key(seed_key, unit_first), 2, t.region_cum)
    rc = _class_region(citizen_key(seed_key, unit_first), r, t.pilot_cum, t.pilot_class_region)
    scheme = _scheme_of(rc, t.region_cum.shape[0])
    position = 0
    household = 0
    while position < size:
        key = citizen_key(seed_key, unit_first + position)
        g = _group(key, t.group_cum, r)
        i = _trait(key, 1, t.income_cum)
        kind = _trait(key, 3, t.household_cum)
        adults = t.household_adults[kind]
        elders = t.household_elders[kind]
        total = adults + elders + t.household_children[kind]
        for k in range(min(total, size - position)):
            m = position + k
            traits[m, 0] = g
            traits[m, 1] = i
            traits[m, 2] = r
            traits[m, 3] = ADULT if k < adults else (ELDER if k < adults + elders else CHILD)
            traits[m, 4] = household
            traits[m, 5] = _trait(citizen_key(seed_key, unit_first + m), 4, t.propensity_cum)
            traits[m, 6] = scheme
        position += total
        household += 1
    return traits


# --- comparing variants ---------------------------------------------------------------


@njit(inline="always", cache=True)
def _add_to_ledger(ledger, g, q, value):
    if value == 0:  # most citizens add nothing to most quantities (about 3% of R0)
        return
    ledger[g, q, LEDGER_SUM] += value
    square = value * value
    low = ledger[g, q, LEDGER_SQ_LOW] + square
    while low >= _SQ_BASE:
        low -= _SQ_BASE
        ledger[g, q, LEDGER_SQ_HIGH] += 1
    ledger[g, q, LEDGER_SQ_LOW] = low


@njit(inline="always", cache=True)
def _tally(ledger, examples, citizen, g, q, value):
    """Add a citizen's value of quantity ``q`` to the ledger, and keep the citizen among the
    quantity's examples (its ``examples.shape[1]`` smallest ids with a positive value, so the
    same whatever the threads or chunks) for the stories of each kind."""
    if value == 0:
        return
    _add_to_ledger(ledger, g, q, value)
    last = examples.shape[1] - 1
    if value < 0 or citizen >= examples[q, last]:
        return
    j = last
    while j > 0 and examples[q, j - 1] > citizen:
        examples[q, j] = examples[q, j - 1]
        j -= 1
    examples[q, j] = citizen


@njit(cache=True)
def _wrongly_blacklisted(
    citizen,
    g,
    run_spells,
    run_lo,
    run_hi,
    shadow_spells,
    shadow_lo,
    shadow_hi,
    marks,
    horizon,
    levels,
):
    """Days on which a citizen is blacklisted in the run but not without false records.

    Spells are rows (citizen, first day, last day); the citizen's are among
    rows lo .. hi - 1 of each table.  Adds the level changes and returns the
    number of such days up to the horizon.
    """
    touched_low = horizon + 1
    touched_high = 0
    for k in range(run_lo, run_hi):
        if run_spells[k, 0] == citizen:
            for d in range(run_spells[k, 1], run_spells[k, 2] + 1):
                marks[d] |= 1
            touched_low = min(touched_low, run_spells[k, 1])
            touched_high = max(touched_high, run_spells[k, 2])
    if touched_high == 0:
        return 0
    clear_low = touched_low
    clear_high = touched_high
    for k in range(shadow_lo, shadow_hi):
        if shadow_spells[k, 0] == citizen:
            for d in range(shadow_spells[k, 1], shadow_spells[k, 2] + 1):
                marks[d] |= 2
            clear_low = min(clear_low, shadow_spells[k, 1])
            clear_high = max(clear_high, shadow_spells[k, 2])
    wrong = False
    wrong_days = 0
    # Level changes after the horizon are never summed, and there is no row for them.
    for d in range(touched_low, min(touched_high + 1, horizon) + 1):
        now = marks[d] == 1
        if now:
            wrong_days += 1
        if now != wrong:
            levels[d, g, LEVEL_WRONGLY_BLACKLISTED] += 1 if now else -1
            wrong = now
    for d in range(clear_low, clear_high + 1):
        marks[d] = 0
    return wrong_days


@njit(inline="always", cache=True)
def _tally_ledger(n, run, counterfactual, wrongly, paired, mp, ledger, examples, first, t):
    """Each citizen's ledger quantities; an unpaired run skips those that need a
    counterfactual (ledger.json reports them as not measured)."""
    for m in range(n):
        citizen = first + m
        g = run[m, OUT_GROUP]  # a row per (scheme, income, group), counting its citizens
        ledger[g, N_QUANTITIES, LEDGER_SUM] += 1
        if PILOTS and run[m, OUT_SCORE] >= 0:  # and each row's scored citizens and scores
            ledger[g, N_QUANTITIES + 1, LEDGER_SUM] += 1
            ledger[g, N_QUANTITIES + 2, LEDGER_SUM] += run[m, OUT_SCORE]
        _tally(ledger, examples, citizen, g, Q_SANCTIONED, run[m, OUT_EVER_BLACKLISTED])
        _tally(ledger, examples, citizen, g, Q_SPEECH_BLOCKED, run[m, OUT_SPEECH_BLOCKED])
        _tally(ledger, examples, citizen, g, Q_FALSE_RECORDS, run[m, OUT_FALSE_RECORDS])
        _tally(ledger, examples, citizen, g, Q_DAYS_BLACKLISTED, run[m, OUT_DAYS_BLACKLISTED])
        if paired:
            published_run = run[m, OUT_SPEECH] - run[m, OUT_SPEECH_BLOCKED]
            published_cf = counterfactual[m, OUT_SPEECH] - counterfactual[m, OUT_SPEECH_BLOCKED]
            _tally(ledger, examples, citizen, g, Q_WRONGLY_SANCTIONED, 1 if wrongly[m] > 0 else 0)
            _tally(ledger, examples, citizen, g, Q_DAYS_WRONGLY_BLACKLISTED, wrongly[m])
            _tally(ledger, examples, citizen, g, Q_SPEECH_LOST, published_cf - published_run)
            _tally(ledger, examples, citizen, g, Q_SPEECH_CHILLED,
                   counterfactual[m, OUT_SPEECH] - run[m, OUT_SPEECH])
            _tally(
                ledger, examples, citizen, g, Q_BEHAVIOURS_PREVENTED,
                counterfactual[m, OUT_OFFENCES] - run[m, OUT_OFFENCES],
            )
            _tally(ledger, examples, citizen, g, Q_COUNTERFACTUAL_SANCTIONED,
                   counterfactual[m, OUT_EVER_BLACKLISTED])
        # @hook ledger


# --- batches and workers ---------------------------------------------------------------

BATCH_CITIZENS = 4096  # citizens per batch (rounded to whole neighbourhoods)


@njit(cache=True)
def simulate_batch(
    first_id,
    count,
    lo,
    hi,
    seed_key,
    horizon,
    t,
    mp,
    without_false,
    only_flagged,
    flagged,
    flows,
    levels,
    hist,
    scratch,
    records,
    free_head,
    outcomes,
    spells,
    spell_count,
    spell_start,
    progress,
    final_score,
    final_false,
    traced_id,
):
    """One variant over neighbourhoods lo .. hi - 1 of a chunk.

    Per-citizen outcomes go to ``outcomes[k]`` for the k-th citizen of the
    batch, blacklisted spells to ``spells`` (those of neighbourhood u from row
    ``spell_start[u - lo]``).  With ``only_flagged`` only neighbourhoods with
    ``flagged[u - lo]`` are simulated; with ``without_false`` no false record
    is ever attributed (the shadow run).  Returns 0, or NEEDS_ROOM with the
    position in ``progress`` when the record or spell pool is short (the
    caller grows it and calls again).  The citizen whose id is ``traced_id``
    (-1: none) is tallied in the last group row instead of their own
    (``scsim.engine.trace``); their draws and everything else are unchanged.

    Why one long function: every call of a function that takes arrays, even
    one numba inlines, binds them by assignment, and in loops like these the
    reference counts that costs (atomic, on every array of the tables) are not
    pruned; they made the kernel six times slower.  So the per-neighbourhood,
    per-citizen and per-event code is written out here, with comments marking
    its parts, and only helpers that take scalars or one array are called.
    """
    state, risk, multiplier, members, heap = scratch
    unit = 1 if SINGLE else t.unit_size  # (a constant lets the compiler drop the loops)
    n_behaviours = t.points.shape[1]
    need = n_behaviours + t.false_points.shape[1]
    col_committed = N_NAMED_FLOWS
    col_recorded = N_NAMED_FLOWS + n_behaviours
    col_transitions = N_NAMED_FLOWS + 2 * n_behaviours
    col_false_stream = col_transitions + t.n_transitions
    u = progress[P_UNIT]
    while u < hi:
        if progress[P_PHASE] == PHASE_FRESH:
            spell_start[u - lo] = spell_count[0]
        if only_flagged and not flagged[u - lo]:
            u += 1
            continue
        offset = u * unit
        size = 1 if SINGLE else min(unit, count - offset)
        ob = (u - lo) * unit
        unit_first = first_id + offset

        # --- a new neighbourhood: members, traits, initial state -------------
        if progress[P_PHASE] == PHASE_FRESH:
            progress[P_SPELLS_FROM] = spell_count[0]
            if SINGLE or not t.households:
                key = citizen_key(seed_key, unit_first)
                r = _trait(key, 2, t.region_cum)
                g = _group(key, t.group_cum, r)
                i = _trait(key, 1, t.income_cum)
                prop = _trait(key, 4, t.propensity_cum)
                rc = r
                if PILOTS:
                    rc = _class_region(key, r, t.pilot_cum, t.pilot_class_region)
                state[0, S_ID] = unit_first
                state[0, S_GROUP] = g
                state[0, S_HOUSEHOLD] = 0
                state[0, S_AGE] = ADULT
                state[0, S_CLASS] = (
                    ((g * t.n_incomes + i) * t.n_regions + rc) * t.n_propensities + prop
                ) * 2 + ADULT
                state[0, S_LEDGER_CELL] = _ledger_cell(i, ADULT, rc, t.n_incomes)
            else:
                r = _trait(citizen_key(seed_key, unit_first), 2, t.region_cum)
                rc = r
                if PILOTS:
                    rc = _class_region(citizen_key(seed_key, unit_first), r, t.pilot_cum,
                                       t.pilot_class_region)
                position = 0
                household = 0
                while position < size:
                    key = citizen_key(seed_key, unit_first + position)
                    g = _group(key, t.group_cum, r)
                    i = _trait(key, 1, t.income_cum)
                    kind = _trait(key, 3, t.household_cum)
                    adults = t.household_adults[kind]
                    elders = t.household_elders[kind]
                    total = adults + elders + t.household_children[kind]
                    for k in range(min(total, size - position)):
                        age = ADULT if k < adults else (ELDER if k < adults + elders else CHILD)
                        m = position + k
                        state[m, S_ID] = unit_first + m
                        state[m, S_GROUP] = g
                        state[m, S_HOUSEHOLD] = household
                        state[m, S_AGE] = age
                        age_column = age if age != CHILD else ADULT
                        prop = 0
                        if t.n_propensities > 1:
                            prop = _trait(
                                citizen_key(seed_key, unit_first + m), 4, t.propensity_cum
                            )
                        state[m, S_CLASS] = (
                            ((g * t.n_incomes + i) * t.n_regions + rc) * t.n_propensities + prop
                        ) * 2 + age_column
                        state[m, S_LEDGER_CELL] = _ledger_cell(i, age, rc, t.n_incomes)
                    position += total
                    household += 1
            n_members = 0
            for m in range(size):
                if state[m, S_ID] == traced_id:
                    state[m, S_GROUP] = levels.shape[1] - 1
                levels[0, state[m, S_GROUP], LEVEL_POPULATION] += 1
                if TURNOVER:
                    # a citizen's life over the run: age on day 0 (uniform within its
                    # band), death, coming of age or becoming an elder, children born
                    key = citizen_key(seed_key, state[m, S_ID])
                    age, g = state[m, S_AGE], state[m, S_GROUP]
                    h_child, h_adult, h_elder = (t.death_hazard[CHILD], t.death_hazard[ADULT],
                                                 t.death_hazard[ELDER])
                    adult_days, elder_days = t.band_days[0], t.band_days[1]
                    band_lo = 0.0 if age == CHILD else (
                        adult_days if age == ADULT else elder_days)
                    band_hi = adult_days if age == CHILD else (
                        elder_days if age == ADULT else t.band_days[2])
                    age_days = band_lo + uniform(key, LIFE, 0, 0) * (band_hi - band_lo)
                    death = _death_day(uniform(key, LIFE, 1, 0), age_days, h_child, h_adult,
                                       h_elder, adult_days, elder_days, horizon)
                    state[m, S_DEATH] = death
                    if death <= horizon:
                        levels[death, g, LEVEL_POPULATION] -= 1
                        flows[death, g, FLOW_DEATHS] += 1
                    state[m, S_START] = 0
                    state[m, S_ELDER_DAY] = NEVER
                    if age == CHILD:
                        start = int(adult_days - age_days) + 1
                        state[m, S_START] = start if start < death and start <= horizon else NEVER
                    elif age == ADULT:
                        elder = int(elder_days - age_days) + 1
                        if elder < death and elder <= horizon:
                            state[m, S_ELDER_DAY] = elder
                        last = min(horizon, death - 1, state[m, S_ELDER_DAY] - 1)
                        born = 0
                        i = 0
                        while t.birth_q > 0.0 and born < last:
                            draw = uniform(key, BIRTH, 0, i)
                            if draw >= (last - born) * t.birth_q:  # the gap passes ``last``
                                break
                            born += 1 + int(math.log(1.0 - draw) * t.birth_inv_log_none)
                            if born > last:
                                break
                            levels[born, g, LEVEL_POPULATION] += 1
                            flows[born, g, FLOW_BIRTHS] += 1
                            dies = _death_day(uniform(key, BIRTH, 1, i), 0.0, h_child, h_adult,
                                              h_elder, adult_days, elder_days, horizon - born)
                            if dies <= horizon - born:
                                levels[born + dies, g, LEVEL_POPULATION] -= 1
                                flows[born + dies, g, FLOW_DEATHS] += 1
                            i += 1
                if state[m, S_AGE] == CHILD and (not TURNOVER or state[m, S_START] > horizon):
                    for o in range(N_OUTCOMES):
                        outcomes[ob + m, o] = 0
                    continue
                members[n_members] = m
                n_members += 1
                key = citizen_key(seed_key, state[m, S_ID])
                c = state[m, S_CLASS]
                g = state[m, S_GROUP]
                first = state[m, S_START] if TURNOVER else 0  # a child is scored from its day
                if PILOTS:
                    sc = t.class_scheme[c]
                    start_score = t.scheme_start[sc]
                    state[m, S_SCORE] = start_score
                    state[m, S_GRADE] = _scheme_grade(start_score, t.grade_min, t.grade_lo[sc],
                                                      t.grade_hi[sc])
                else:
                    start_score = t.start_score
                    state[m, S_SCORE] = start_score
                    state[m, S_GRADE] = (
                        _grade(start_score, t.grade_min) if t.grade_min.shape[0] > 0 else 0
                    )
                if first == 0 and not PILOTS:
                    levels[0, g, LEVEL_SCORED] += 1
                else:  # (day 0 is filled in from the day-0 count, except with pilots, whose
                    # schemes start apart; a late start adds its own)
                    levels[first, g, LEVEL_SCORED] += 1
                    levels[first, g, LEVEL_SCORE_SUM] += start_score
                    hist[first, g, (start_score - t.min_score) // t.score_bin_width] += 1
                    if state[m, S_GRADE] < t.grade_min.shape[0]:
                        levels[first, g, N_NAMED_LEVELS + state[m, S_GRADE]] += 1
                    if first > 0:
                        flows[first, g, FLOW_CAME_OF_AGE] += 1
                    day = first  # (the day, for the hooks)
                    # @hook came_of_age
                k0 = t.period_of_day[first] if SCHEDULED else 0
                since = first - 1 if first > 0 else 0  # candidates from ``first`` on
                state[m, S_BLACKLISTED] = 0
                state[m, S_SINCE] = 0
                state[m, S_FALSE_ACTIVE] = 0
                state[m, S_BEHAVIOUR_INDEX] = 0
                state[m, S_FALSE_INDEX] = 0
                state[m, S_NEXT_TIMED] = NEVER
                state[m, S_TIMER] = NEVER
                state[m, S_RECORDS_HEAD] = -1
                for b in range(multiplier.shape[1]):
                    multiplier[m, b] = 1.0
                for o in range(N_OUTCOMES):
                    outcomes[ob + m, o] = 0
                # @hook member_started
                state[m, S_NEXT_BEHAVIOUR] = _next_candidate_day(
                    key,
                    BEHAVIOUR_PROCESS,
                    0,
                    since,
                    t.behaviour_q[k0, c],
                    t.behaviour_inv_log_none[k0, c],
                    horizon,
                )
                state[m, S_NEXT_FALSE] = (
                    _next_candidate_day(
                        key, FALSE_PROCESS, 0, since, t.false_q[k0, c],
                        t.false_inv_log_none[k0, c], horizon
                    )
                    if t.false_points.shape[1] > 0
                    else NEVER
                )
                state[m, S_NEXT] = min(state[m, S_NEXT_BEHAVIOUR], state[m, S_NEXT_FALSE])
                if without_false:
                    state[m, S_NEXT_FALSE] = NEVER
                    state[m, S_NEXT] = state[m, S_NEXT_BEHAVIOUR]
                if SCHEDULED:
                    state[m, S_NEXT_WAKE] = t.next_wake[k0, c]
                    state[m, S_NEXT] = min(state[m, S_NEXT], state[m, S_NEXT_WAKE])
                if TURNOVER:
                    state[m, S_NEXT] = min(state[m, S_NEXT], state[m, S_DEATH],
                                           state[m, S_ELDER_DAY])
                if TIMED:
                    state[m, S_NEXT] = min(state[m, S_NEXT], state[m, S_TIMER])
            progress[P_MEMBERS] = n_members
            progress[P_HEAP] = n_members
            progress[P_CURRENT] = 0
            if not SINGLE and t.interacting and n_members > 1:
                for k in range(n_members):
                    heap[k] = members[k]
                for i in range(n_members // 2 - 1, -1, -1):
                    _sift_down(heap, n_members, i, state)
            progress[P_PHASE] = PHASE_STEPPING
        n_members = progress[P_MEMBERS]

        # --- events in day order (heap) or member after member ---------------
        if progress[P_PHASE] == PHASE_STEPPING:
            use_heap = not SINGLE and t.interacting and n_members > 1
            n_heap = progress[P_HEAP]
            current = progress[P_CURRENT]
            while True:
                if use_heap:
                    if n_heap == 0 or state[heap[0], S_NEXT] > horizon:
                        break
                    m = heap[0]
                elif SINGLE:  # (the one member, if scored: ``current`` stays 0)
                    if n_members == 0 or state[0, S_NEXT] > horizon:
                        break
                    m = 0
                else:
                    while current < n_members and state[members[current], S_NEXT] > horizon:
                        current += 1
                    if current == n_members:
                        break
                    m = members[current]
                if free_head[1] < need or spell_count[0] + 1 > spells.shape[0]:
                    progress[P_HEAP] = n_heap
                    progress[P_CURRENT] = current
                    progress[P_UNIT] = u
                    return NEEDS_ROOM
                day = state[m, S_NEXT]

                # --- everything that happens to member m on this day ---------
                key = citizen_key(seed_key, state[m, S_ID])
                c = state[m, S_CLASS]
                g = state[m, S_GROUP]
                false_active_before = state[m, S_FALSE_ACTIVE]
                change = 0
                new_false = 0
                exit_column = FLOW_LEFT_BY_OTHER  # why a listing ends today (hooks may say)
                k = t.period_of_day[day] if SCHEDULED else 0  # the period of values in force

                if TURNOVER and day == state[m, S_DEATH]:
                    if SCHEDULED and day == t.report_day:  # (before its wake, below)
                        # The burn-in ends on the day of death: as at the wake below.
                        if state[m, S_BLACKLISTED]:
                            _close_spell(m, ob, day - 1, key, state, outcomes, spells,
                                         spell_count, mp, flows, t)
                            state[m, S_SINCE] = day
                        _forget_the_burn_in(outcomes, ob, m)
                    # Death: the listing and every sanction end, the member leaves the
                    # levels it was counted in, and nothing more happens to it.
                    if state[m, S_BLACKLISTED]:
                        if false_active_before > 0:
                            levels[day, g, LEVEL_BLACKLISTED_WITH_FALSE] -= 1
                        _leave_blacklist(m, ob, day, k, key, state, outcomes, spells,
                                         spell_count, horizon, mp, flows, levels, members,
                                         n_members, t, FLOW_LEFT_BY_DEATH)
                    # @hook died
                    score = state[m, S_SCORE]
                    levels[day, g, LEVEL_SCORE_SUM] -= score
                    levels[day, g, LEVEL_SCORED] -= 1
                    hist[day, g, (score - t.min_score) // t.score_bin_width] -= 1
                    if state[m, S_GRADE] < t.grade_min.shape[0]:
                        levels[day, g, N_NAMED_LEVELS + state[m, S_GRADE]] -= 1
                    if false_active_before > 0:
                        levels[day, g, LEVEL_WITH_FALSE_RECORDS] -= 1
                    flows[day, g, FLOW_DEATHS_OF_SCORED] += 1
                    if SCHEDULED and t.report_day != NEVER and day < t.report_day:
                        # Died in the burn-in: the report day's reset never comes.
                        _forget_the_burn_in(outcomes, ob, m)
                    state[m, S_NEXT_BEHAVIOUR] = NEVER
                    state[m, S_NEXT_FALSE] = NEVER
                    state[m, S_NEXT_TIMED] = NEVER
                    state[m, S_NEXT_WAKE] = NEVER
                    state[m, S_ELDER_DAY] = NEVER
                    state[m, S_DEATH] = NEVER
                    state[m, S_TIMER] = NEVER
                    state[m, S_NEXT] = NEVER
                    if use_heap:
                        n_heap -= 1
                        heap[0] = heap[n_heap]
                        _sift_down(heap, n_heap, 0, state)
                    continue

                if TURNOVER and day == state[m, S_ELDER_DAY]:
                    # An adult becomes an elder: its class's age band changes, so its
                    # candidate processes restart at the elder's rates (exact, as in 7.4).
                    state[m, S_CLASS] += 1  # the age band is the class's last digit
                    state[m, S_AGE] = ELDER
                    state[m, S_ELDER_DAY] = NEVER
                    c = state[m, S_CLASS]
                    if SCHEDULED and state[m, S_NEXT_WAKE] != day:  # (a wake today stays)
                        state[m, S_NEXT_WAKE] = t.next_wake[k, c]
                    _restart(state, m, BEHAVIOUR_PROCESS, key, day, t.behaviour_q[k, c],
                             t.behaviour_inv_log_none[k, c], horizon)
                    if not without_false and t.false_points.shape[1] > 0:
                        _restart(state, m, FALSE_PROCESS, key, day, t.false_q[k, c],
                                 t.false_inv_log_none[k, c], horizon)

                if SCHEDULED and state[m, S_NEXT_WAKE] == day:
                    # A period starts that changes the class's values: a candidate process
                    # whose rates change restarts from today (exact: the gaps are memoryless),
                    # and the day ends with the listing decided under the new threshold.
                    if t.restart_behaviour[k, c]:
                        _restart(state, m, BEHAVIOUR_PROCESS, key, day, t.behaviour_q[k, c],
                                 t.behaviour_inv_log_none[k, c], horizon)
                    if t.restart_false[k, c] and not without_false:
                        _restart(state, m, FALSE_PROCESS, key, day, t.false_q[k, c],
                                 t.false_inv_log_none[k, c], horizon)
                    # @hook period_started
                    if day == t.report_day:
                        # The burn-in ends: what follows is reported.  A spell that goes on is
                        # split (its burn-in part accounted for now), and the member's outcomes
                        # start again from zero.
                        if state[m, S_BLACKLISTED]:
                            _close_spell(m, ob, day - 1, key, state, outcomes, spells,
                                         spell_count, mp, flows, t)
                            state[m, S_SINCE] = day
                        _forget_the_burn_in(outcomes, ob, m)
                    state[m, S_NEXT_WAKE] = t.next_wake[k, c]

                if TIMED and state[m, S_TIMER] == day:
                    # A day a mechanism asked for (a case coming to court, a release): its
                    # hooks act, and each re-arms the timer for its next such day.
                    state[m, S_TIMER] = NEVER
                    # @hook timer

                if state[m, S_NEXT_BEHAVIOUR] == day:
                    step = 0
                    b = _first_firing(t.behaviour_cumprod, k, c, uniform(key, SELECT, 0, day))
                    while b >= 0:
                        kind = t.kind[b]
                        p = t.accept_ratio[k, c, 0, b] * multiplier[m, b]
                        # @hook rate
                        # @hook thinning
                        committed = True
                        if p < 1.0:
                            committed = uniform(key, ACCEPT, b, day) < p
                        if committed:
                            flows[day, g, col_committed + b] += 1
                            if kind == OFFENCE:
                                outcomes[ob + m, OUT_OFFENCES] += 1
                            elif kind == SPEECH:
                                outcomes[ob + m, OUT_SPEECH] += 1
                            blocked = False  # a hook may block it from being recorded
                            # @hook committed
                            if (not blocked
                                    and uniform(key, RECORD, b, day) < t.record_prob[k, c, b]):
                                flows[day, g, col_recorded + b] += 1
                                multiplier[m, b] *= t.adapt_factor[k, b]
                                due = NEVER
                                flags = 0
                                # @hook true_scheduled
                                if due == day:  # removed at once: never counts
                                    flows[day, g, _removal_flows(flags)[0]] += 1
                                else:
                                    points = (t.scheme_points[k, t.class_scheme[c], b] if PILOTS
                                              else t.points[k, b])
                                    change += points
                                    # @hook true_counted
                                    if due <= horizon:
                                        _schedule_removal(
                                            state, records, free_head, m, due, points, flags
                                        )
                                # @hook recorded
                        step += 1
                        b = _next_firing(
                            t.behaviour_cumprod, k, c, b, uniform(key, SELECT, step, day)
                        )
                    state[m, S_BEHAVIOUR_INDEX] += 1
                    state[m, S_NEXT_BEHAVIOUR] = _next_candidate_day(
                        key,
                        BEHAVIOUR_PROCESS,
                        state[m, S_BEHAVIOUR_INDEX],
                        day,
                        t.behaviour_q[k, c],
                        t.behaviour_inv_log_none[k, c],
                        horizon,
                    )

                if state[m, S_NEXT_FALSE] == day:
                    step = 0
                    f = _first_firing(
                        t.false_cumprod, k, c, uniform(key, SELECT, _SELECT_STRIDE, day)
                    )
                    while f >= 0:
                        caught = False  # a hook may discard it before it counts
                        # @hook false_attributed
                        if not caught:
                            due = NEVER
                            flags = FLAG_FALSE
                            # @hook false_scheduled
                            if due == day:  # removed at once: never counts
                                flows[day, g, _removal_flows(flags)[0]] += 1
                            else:
                                new_false += 1
                                flows[day, g, col_false_stream + f] += 1
                                points = (
                                    t.scheme_false_points[k, t.class_scheme[c], f] if PILOTS
                                    else t.false_points[k, f])
                                change += points
                                state[m, S_FALSE_ACTIVE] += 1
                                # @hook false_counted
                                if due <= horizon:
                                    _schedule_removal(
                                        state, records, free_head, m, due, points, flags
                                    )
                                # @hook false_recorded
                        step += 1
                        f = _next_firing(
                            t.false_cumprod, k, c, f,
                            uniform(key, SELECT, _SELECT_STRIDE + step, day),
                        )
                    state[m, S_FALSE_INDEX] += 1
                    state[m, S_NEXT_FALSE] = _next_candidate_day(
                        key,
                        FALSE_PROCESS,
                        state[m, S_FALSE_INDEX],
                        day,
                        t.false_q[k, c],
                        t.false_inv_log_none[k, c],
                        horizon,
                    )

                if state[m, S_NEXT_TIMED] == day:
                    restored, removal_exit = _remove_due(
                        state, records, free_head, m, day, mp, flows, g, outcomes, ob
                    )
                    change += restored
                    if removal_exit >= 0:
                        exit_column = removal_exit

                # Scoring and measures at the end of the day.
                score = state[m, S_SCORE]
                if PILOTS:
                    sc = t.class_scheme[c]
                    new_score = min(max(score + change, t.scheme_min[sc]), t.scheme_max[sc])
                else:
                    new_score = min(max(score + change, t.min_score), t.max_score)
                if new_score != score:
                    levels[day, g, LEVEL_SCORE_SUM] += new_score - score
                    old_bin = _score_bin(score, t.min_score, t.score_bin_width)
                    new_bin = _score_bin(new_score, t.min_score, t.score_bin_width)
                    if old_bin != new_bin:
                        hist[day, g, old_bin] -= 1
                        hist[day, g, new_bin] += 1
                    # (sc: the member's scheme, from the clipping above)
                    if (t.grade_hi[sc] > t.grade_lo[sc] if PILOTS
                            else t.grade_min.shape[0] > 0):
                        grade = state[m, S_GRADE]
                        new_grade = (_scheme_grade(new_score, t.grade_min, t.grade_lo[sc],
                                                   t.grade_hi[sc]) if PILOTS
                                     else _grade(new_score, t.grade_min))
                        if new_grade != grade:
                            levels[day, g, N_NAMED_LEVELS + grade] -= 1
                            levels[day, g, N_NAMED_LEVELS + new_grade] += 1
                            if PILOTS:  # (a block of transitions per scheme)
                                first_grade = t.grade_lo[sc]
                                flows[day, g, col_transitions + t.transition_offset[sc]
                                      + (grade - first_grade) * (t.grade_hi[sc] - first_grade)
                                      + new_grade - first_grade] += 1
                            else:
                                flows[day, g, col_transitions + grade * t.grade_min.shape[0]
                                      + new_grade] += 1
                            # @hook grade_changed
                            state[m, S_GRADE] = new_grade
                    state[m, S_SCORE] = new_score
                if new_false > 0:
                    flows[day, g, FLOW_FALSE_RECORDS] += new_false
                    outcomes[ob + m, OUT_FALSE_RECORDS] += new_false
                false_active = state[m, S_FALSE_ACTIVE]
                if (false_active > 0) != (false_active_before > 0):
                    levels[day, g, LEVEL_WITH_FALSE_RECORDS] += 1 if false_active > 0 else -1
                blacklisted = state[m, S_BLACKLISTED] == 1
                was_wrong = blacklisted and false_active_before > 0
                now_blacklisted = new_score < t.blacklist_below[k]
                # @hook listing
                if now_blacklisted != blacklisted:
                    if now_blacklisted:
                        _enter_blacklist(
                            m,
                            ob,
                            day,
                            k,
                            state,
                            risk,
                            outcomes,
                            members,
                            n_members,
                            seed_key,
                            horizon,
                            t.interacting,
                            mp,
                            flows,
                            levels,
                        )
                    else:
                        _leave_blacklist(
                            m,
                            ob,
                            day,
                            k,
                            key,
                            state,
                            outcomes,
                            spells,
                            spell_count,
                            horizon,
                            mp,
                            flows,
                            levels,
                            members,
                            n_members,
                            t,
                            exit_column,
                        )
                    blacklisted = now_blacklisted
                is_wrong = blacklisted and false_active > 0
                if is_wrong != was_wrong:
                    levels[day, g, LEVEL_BLACKLISTED_WITH_FALSE] += 1 if is_wrong else -1
                state[m, S_NEXT] = min(
                    state[m, S_NEXT_BEHAVIOUR], state[m, S_NEXT_FALSE], state[m, S_NEXT_TIMED]
                )
                if SCHEDULED:
                    state[m, S_NEXT] = min(state[m, S_NEXT], state[m, S_NEXT_WAKE])
                if TURNOVER:
                    state[m, S_NEXT] = min(state[m, S_NEXT], state[m, S_DEATH],
                                           state[m, S_ELDER_DAY])
                if TIMED:
                    state[m, S_NEXT] = min(state[m, S_NEXT], state[m, S_TIMER])
                if use_heap:
                    if state[m, S_NEXT] > horizon:
                        n_heap -= 1
                        heap[0] = heap[n_heap]
                    _sift_down(heap, n_heap, 0, state)
            progress[P_PHASE] = PHASE_CLOSING

        # --- the end of the horizon: open spells, then the closing hooks ------
        if spell_count[0] + n_members > spells.shape[0]:
            progress[P_UNIT] = u
            return NEEDS_ROOM
        for k in range(n_members):
            m = members[k]
            _free_pending(state, records, free_head, m)
            if state[m, S_BLACKLISTED]:
                _close_spell(
                    m,
                    ob,
                    horizon,
                    citizen_key(seed_key, state[m, S_ID]),
                    state,
                    outcomes,
                    spells,
                    spell_count,
                    mp,
                    flows,
                    t,
                )
        spell_lo = progress[P_SPELLS_FROM]  # (spells of this neighbourhood, for the hooks)
        if SCHEDULED and t.report_day <= horizon:
            # only reported spells stay: those of the burn-in end before its last day
            kept = spell_lo
            for row in range(spell_lo, spell_count[0]):
                if spells[row, 2] >= t.report_day:
                    for j in range(3):
                        spells[kept, j] = spells[row, j]
                    kept += 1
            spell_count[0] = kept
        spell_hi = spell_count[0]  # noqa: F841
        # @hook neighbourhood_closed
        progress[P_PHASE] = PHASE_FRESH
        for m in range(size):
            outcomes[ob + m, OUT_GROUP] = state[m, S_GROUP] + levels.shape[1] * state[
                m, S_LEDGER_CELL]
            if PILOTS:
                child = state[m, S_AGE] == CHILD and (not TURNOVER or state[m, S_START] > horizon)
                # (a citizen who died keeps the score of their last day)
                outcomes[ob + m, OUT_SCORE] = -1 if child else state[m, S_SCORE]
        if final_score.shape[0] > 0:
            for m in range(size):
                child = state[m, S_AGE] == CHILD and (not TURNOVER or state[m, S_START] > horizon)
                start_score = (t.scheme_start[t.class_scheme[state[m, S_CLASS]]] if PILOTS
                               else t.start_score)
                final_score[offset + m] = start_score if child else state[m, S_SCORE]
                final_false[offset + m] = min(outcomes[ob + m, OUT_FALSE_RECORDS], 255)
        u += 1
    spell_start[hi - lo] = spell_count[0]
    progress[P_UNIT] = hi
    return 0


@njit(cache=True)
def _run_variant(
    first_id,
    count,
    lo,
    hi,
    seed_key,
    horizon,
    t,
    mp,
    without_false,
    only_flagged,
    flagged,
    flows,
    levels,
    hist,
    scratch,
    records,
    free_head,
    outcomes,
    spells,
    spell_start,
    final_score,
    final_false,
    traced_id,
):
    """simulate_batch until done, growing the pools when asked; returns the pools."""
    spell_count = np.zeros(1, dtype=np.int64)
    progress = np.zeros(N_PROGRESS, dtype=np.int64)
    progress[P_UNIT] = lo
    need = t.points.shape[1] + t.false_points.shape[1]
    while True:
        status = simulate_batch(
            first_id,
            count,
            lo,
            hi,
            seed_key,
            horizon,
            t,
            mp,
            without_false,
            only_flagged,
            flagged,
            flows,
            levels,
            hist,
            scratch,
            records,
            free_head,
            outcomes,
            spells,
            spell_count,
            spell_start,
            progress,
            final_score,
            final_false,
            traced_id,
        )
        if status == 0:
            return records, spells
        if free_head[1] < need:
            records = grow_records(records, free_head, need)
        if spell_count[0] + t.unit_size + 1 > spells.shape[0]:
            spells = grow_spells(spells, t.unit_size + 1)


# --- the lean kernel: one citizen at a time, unpaired, nothing optional -----------------

@njit(cache=True)
def simulate_singles(first_id, lo, hi, seed_key, horizon, t, mp, flows, levels, hist, ledger,
                     examples, final_score, final_false, traced_id):
    """Citizens ``first_id + lo .. first_id + hi - 1`` of an unpaired run whose kernel is
    ``LEAN``: neighbourhoods of one citizen, one period, no turnover or pilots, and no
    mechanism acting anywhere but where a spell closes and in the ledger.

    The same draws and the same tallies as ``simulate_batch`` followed by ``_tally_ledger``
    (a test holds them identical), written the way a single citizen allows: its state in
    locals rather than rows of ``state``, no record or spell pools (nothing can schedule a
    removal, and only a paired run compares spells), no phases to resume, and the ledger
    tallied as each citizen ends.  Its outcome row is written only for a citizen who is
    listed or holds a false record (the only ones ``_tally_ledger`` is called for), and the
    counts of offences and speech are not kept: no quantity of an unpaired run reads them.
    It exists for speed (R0: docs/performance.md).
    """
    n_behaviours = t.points.shape[1]
    n_false_streams = t.false_points.shape[1]
    n_grades = t.grade_min.shape[0]
    col_committed = N_NAMED_FLOWS
    col_recorded = N_NAMED_FLOWS + n_behaviours
    col_transitions = N_NAMED_FLOWS + 2 * n_behaviours
    col_false_stream = col_transitions + t.n_transitions
    traced_row = levels.shape[1] - 1
    width = t.score_bin_width
    min_score = t.min_score
    max_score = t.max_score
    blacklist_below = t.blacklist_below[0]
    multiplier = np.ones(n_behaviours)
    out = np.zeros((1, N_OUTCOMES), dtype=np.int64)
    no_counterfactual = np.zeros((1, N_OUTCOMES), dtype=np.int64)  # (unpaired: zeros)
    no_wrongly = np.zeros(1, dtype=np.int64)
    for u in range(lo, hi):
        citizen = first_id + u
        key = citizen_key(seed_key, citizen)
        r = _trait(key, 2, t.region_cum)
        g = _group(key, t.group_cum, r)
        i = _trait(key, 1, t.income_cum)
        prop = _trait(key, 4, t.propensity_cum)
        c = (((g * t.n_incomes + i) * t.n_regions + r) * t.n_propensities + prop) * 2 + ADULT
        if citizen == traced_id:
            g = traced_row
        levels[0, g, LEVEL_POPULATION] += 1
        levels[0, g, LEVEL_SCORED] += 1
        score = t.start_score
        grade = _grade(score, t.grade_min) if n_grades > 0 else 0
        blacklisted = False
        since = 0
        false_active = 0
        behaviour_index = 0
        false_index = 0
        for b in range(n_behaviours):
            multiplier[b] = 1.0
        behaviour_q = t.behaviour_q[0, c]
        behaviour_inv = t.behaviour_inv_log_none[0, c]
        false_q = t.false_q[0, c]
        false_inv = t.false_inv_log_none[0, c]
        next_behaviour = _next_candidate_day(key, BEHAVIOUR_PROCESS, 0, 0, behaviour_q,
                                             behaviour_inv, horizon)
        next_false = (_next_candidate_day(key, FALSE_PROCESS, 0, 0, false_q, false_inv,
                                          horizon) if n_false_streams > 0 else NEVER)
        while True:
            day = min(next_behaviour, next_false)
            if day > horizon:
                break
            false_active_before = false_active
            change = 0
            new_false = 0
            if next_behaviour == day:
                step = 0
                b = _first_firing(t.behaviour_cumprod, 0, c, uniform(key, SELECT, 0, day))
                while b >= 0:
                    p = t.accept_ratio[0, c, 0, b] * multiplier[b]
                    committed = True
                    if p < 1.0:
                        committed = uniform(key, ACCEPT, b, day) < p
                    if committed:
                        flows[day, g, col_committed + b] += 1
                        if uniform(key, RECORD, b, day) < t.record_prob[0, c, b]:
                            flows[day, g, col_recorded + b] += 1
                            multiplier[b] *= t.adapt_factor[0, b]
                            change += t.points[0, b]
                    step += 1
                    b = _next_firing(t.behaviour_cumprod, 0, c, b,
                                     uniform(key, SELECT, step, day))
                behaviour_index += 1
                next_behaviour = _next_candidate_day(key, BEHAVIOUR_PROCESS, behaviour_index,
                                                     day, behaviour_q, behaviour_inv, horizon)
            if next_false == day:
                step = 0
                f = _first_firing(t.false_cumprod, 0, c,
                                  uniform(key, SELECT, _SELECT_STRIDE, day))
                while f >= 0:
                    new_false += 1
                    flows[day, g, col_false_stream + f] += 1
                    change += t.false_points[0, f]
                    false_active += 1
                    step += 1
                    f = _next_firing(t.false_cumprod, 0, c, f,
                                     uniform(key, SELECT, _SELECT_STRIDE + step, day))
                false_index += 1
                next_false = _next_candidate_day(key, FALSE_PROCESS, false_index, day,
                                                 false_q, false_inv, horizon)

            # Scoring and measures at the end of the day (as in simulate_batch).
            new_score = min(max(score + change, min_score), max_score)
            if new_score != score:
                levels[day, g, LEVEL_SCORE_SUM] += new_score - score
                old_bin = _score_bin(score, min_score, width)
                new_bin = _score_bin(new_score, min_score, width)
                if old_bin != new_bin:
                    hist[day, g, old_bin] -= 1
                    hist[day, g, new_bin] += 1
                if n_grades > 0:
                    new_grade = _grade(new_score, t.grade_min)
                    if new_grade != grade:
                        levels[day, g, N_NAMED_LEVELS + grade] -= 1
                        levels[day, g, N_NAMED_LEVELS + new_grade] += 1
                        flows[day, g, col_transitions + grade * n_grades + new_grade] += 1
                        grade = new_grade
                score = new_score
            if new_false > 0:
                flows[day, g, FLOW_FALSE_RECORDS] += new_false
                if false_active_before == 0:
                    levels[day, g, LEVEL_WITH_FALSE_RECORDS] += 1
            was_wrong = blacklisted and false_active_before > 0
            now_blacklisted = new_score < blacklist_below
            if now_blacklisted != blacklisted:
                if now_blacklisted:
                    since = day
                    levels[day, g, LEVEL_BLACKLISTED] += 1
                    flows[day, g, FLOW_ENTERED_BLACKLIST] += 1
                    out[0, OUT_EVER_BLACKLISTED] = 1
                else:
                    levels[day, g, LEVEL_BLACKLISTED] -= 1
                    flows[day, g, FLOW_LEFT_BLACKLIST] += 1
                    flows[day, g, FLOW_LEFT_BY_OTHER] += 1  # (no record is removed here)
                    _spell_closed(0, 0, since, day - 1, key, g, c, out, mp, flows, t)
                blacklisted = now_blacklisted
            is_wrong = blacklisted and false_active > 0
            if is_wrong != was_wrong:
                levels[day, g, LEVEL_BLACKLISTED_WITH_FALSE] += 1 if is_wrong else -1
        if blacklisted:
            _spell_closed(0, 0, since, horizon, key, g, c, out, mp, flows, t)
        row = g + levels.shape[1] * _ledger_cell(i, ADULT, r, t.n_incomes)
        if final_score.shape[0] > 0:
            final_score[u] = score
            final_false[u] = min(false_active, 255)  # (no record is ever removed here)
        # The ledger.  An unpaired run's quantities are the citizen's listing, false records
        # and blocked speech, and the mechanisms' own outcomes (``is_lean`` holds a ledger
        # hook to those), which only a listing's end writes here; a citizen with neither a
        # listing nor a false record adds only its count.  Skipping the tallies for them
        # matters: each call binds its arrays (atomic reference counts), which cost R0
        # about a third of its time with every rate 0.
        if out[0, OUT_EVER_BLACKLISTED] or false_active > 0:
            out[0, OUT_FALSE_RECORDS] = false_active
            out[0, OUT_GROUP] = row
            _tally_ledger(1, out, no_counterfactual, no_wrongly, False, mp, ledger, examples,
                          citizen, t)
            for o in range(N_OUTCOMES):
                out[0, o] = 0
        else:
            ledger[row, N_QUANTITIES, LEDGER_SUM] += 1


@njit(cache=True, nogil=True)
def simulate_worker(
    first_id,
    count,
    lo,
    hi,
    seed_key,
    horizon,
    t,
    t_cf,
    mp,
    mp_cf,
    paired,
    flows_w,
    levels_w,
    hist_w,
    flows_cf_w,
    levels_cf_w,
    hist_cf_w,
    ledger_w,
    examples_w,
    final_score,
    final_false,
    traced_id,
):
    """Neighbourhoods lo .. hi - 1 of a chunk, on one worker with its own buffers.

    Batch by batch: the run; then, if paired, the run without false records
    (only for neighbourhoods where false records counted) and the
    counterfactual; then the per-citizen comparisons and the ledger.
    """
    unit = t.unit_size
    if SINGLE and (unit != 1 or t.households):
        raise ValueError("a kernel for neighbourhoods of one citizen, given households")
    if LEAN:  # noqa: SIM102  (a constant alone: the compiler drops the branch)
        if not paired:
            simulate_singles(first_id, lo, hi, seed_key, horizon, t, mp, flows_w, levels_w,
                             hist_w, ledger_w, examples_w, final_score, final_false, traced_id)
            return
    n_behaviours = t.points.shape[1]
    batch_units = max(1, BATCH_CITIZENS // unit)
    batch = batch_units * unit
    scratch = (
        np.zeros((unit, N_STATE), dtype=np.int64),
        np.zeros((unit, 2)),
        np.ones((unit, n_behaviours)),
        np.zeros(unit, dtype=np.int64),
        np.zeros(unit, dtype=np.int64),
    )
    records = new_records(16 * unit + 64)  # grows when needed, kept for the next batches
    free_head = np.zeros(2, dtype=np.int64)
    free_head[1] = records.shape[0]
    run_out = np.zeros((batch, N_OUTCOMES), dtype=np.int64)
    cf_out = np.zeros((batch, N_OUTCOMES), dtype=np.int64)
    shadow_out = np.zeros((batch, N_OUTCOMES), dtype=np.int64)
    run_spells = np.zeros((batch + 16, 3), dtype=np.int64)
    shadow_spells = np.zeros((batch + 16, 3), dtype=np.int64)
    cf_spells = np.zeros((batch + 16, 3), dtype=np.int64)
    run_start = np.zeros(batch_units + 1, dtype=np.int64)
    shadow_start = np.zeros(batch_units + 1, dtype=np.int64)
    cf_start = np.zeros(batch_units + 1, dtype=np.int64)
    flagged = np.zeros(batch_units, dtype=np.bool_)
    wrongly = np.zeros(batch, dtype=np.int64)
    marks = np.zeros(horizon + 2, dtype=np.int8)
    no_finals = np.zeros(0, dtype=final_score.dtype)
    no_false = np.zeros(0, dtype=final_false.dtype)
    # the shadow's own daily tallies are not reported: scratch buffers
    shadow_flows = np.zeros(flows_w.shape if paired else (1, 1, 1), dtype=np.int64)
    shadow_levels = np.zeros(levels_w.shape if paired else (1, 1, 1), dtype=np.int64)
    shadow_hist = np.zeros(hist_w.shape if paired else (1, 1, 1), dtype=np.int64)
    # a variant's switches (without false records, only flagged neighbourhoods) as values
    # known at run time only: constants would reach simulate_batch typed as literals, and
    # numba would compile it once for each combination
    off = np.zeros(1, dtype=np.bool_)[0]
    on = np.ones(1, dtype=np.bool_)[0]
    for batch_lo in range(lo, hi, batch_units):
        batch_hi = min(hi, batch_lo + batch_units)
        n = min(count, batch_hi * unit) - batch_lo * unit
        records, run_spells = _run_variant(
            first_id,
            count,
            batch_lo,
            batch_hi,
            seed_key,
            horizon,
            t,
            mp,
            off,
            off,
            flagged,
            flows_w,
            levels_w,
            hist_w,
            scratch,
            records,
            free_head,
            run_out,
            run_spells,
            run_start,
            final_score,
            final_false,
            traced_id,
        )
        for k in range(n):
            wrongly[k] = 0
        if paired:
            any_flagged = False
            for u in range(batch_hi - batch_lo):
                flagged[u] = False
                for k in range(u * unit, min(n, (u + 1) * unit)):
                    if run_out[k, OUT_FALSE_RECORDS] + run_out[k, OUT_FALSE_IN_BURN_IN] > 0:
                        flagged[u] = True
                        any_flagged = True
            if any_flagged:
                records, shadow_spells = _run_variant(
                    first_id,
                    count,
                    batch_lo,
                    batch_hi,
                    seed_key,
                    horizon,
                    t,
                    mp,
                    on,
                    on,
                    flagged,
                    shadow_flows,
                    shadow_levels,
                    shadow_hist,
                    scratch,
                    records,
                    free_head,
                    shadow_out,
                    shadow_spells,
                    shadow_start,
                    no_finals,
                    no_false,
                    traced_id,
                )
            records, cf_spells = _run_variant(
                first_id,
                count,
                batch_lo,
                batch_hi,
                seed_key,
                horizon,
                t_cf,
                mp_cf,
                off,
                off,
                flagged,
                flows_cf_w,
                levels_cf_w,
                hist_cf_w,
                scratch,
                records,
                free_head,
                cf_out,
                cf_spells,
                cf_start,
                no_finals,
                no_false,
                traced_id,
            )
            for u in range(batch_hi - batch_lo):
                if not flagged[u]:
                    continue
                for k in range(u * unit, min(n, (u + 1) * unit)):
                    if (run_out[k, OUT_FALSE_RECORDS] + run_out[k, OUT_FALSE_IN_BURN_IN] > 0
                            or t.interacting):
                        wrongly[k] = _wrongly_blacklisted(
                            k,
                            run_out[k, OUT_GROUP] % levels_w.shape[1],  # the group
                            run_spells,
                            run_start[u],
                            run_start[u + 1],
                            shadow_spells,
                            shadow_start[u],
                            shadow_start[u + 1],
                            marks,
                            horizon,
                            levels_w,
                        )
        _tally_ledger(n, run_out, cf_out, wrongly, paired, mp, ledger_w, examples_w,
                      first_id + batch_lo * unit, t)
