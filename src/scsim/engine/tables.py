"""Compile a validated scenario into the flat arrays the kernel reads.

A scored citizen's *class* is the combination (group, income level, region,
age band); every rate and probability the kernel needs is tabulated per class,
so the kernel never looks at names or dictionaries.  Children are never scored
and have no class.

Two candidate processes run per citizen:

* the **behaviour** process (the world): on each day, behaviour ``b`` fires
  independently with probability ``p[c, b]``, the highest rate the citizen
  can have (before deterrence and adaptation, at the lowest income an
  employment penalty can push the citizen to); each candidate is then
  committed with probability (actual rate) / p, by thinning;
* the **false-attribution** process (the system): each channel with a false
  match rate attributes a false record with probability ``q[c, f]``.

Each process is stored as the cumulative products ``P[c, t] = prod_{s<t} (1 -
p[c, s])`` (``P[c, 0] = 1``), from which the kernel draws the gap to the next
day on which any stream fires and which streams fire that day.  Keeping the
world's process separate from the system's, and computing the world's
candidate rates from the world alone plus the deepest income penalty of the
paired scenarios, means that a policy change never moves a behaviour draw:
paired runs share every candidate event and every acceptance draw.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from scsim.kernels.layout import KIND_CODES, NEVER
from scsim.scenario.model import Scenario
from scsim.scenario.schedule import Period

SCORED_AGES = ("adult", "elder")


class KernelTables(NamedTuple):
    """Everything the kernel needs, as arrays and numbers (numba accepts named tuples)."""

    group_cum: np.ndarray  # (R, G) float64 cumulative group shares in each region
    income_cum: np.ndarray  # (I,)
    region_cum: np.ndarray  # (R,)
    propensity_cum: np.ndarray  # (P,)
    # per period k of constant values (``scsim.scenario.schedule``; one without a schedule):
    behaviour_cumprod: np.ndarray  # (K, C, B+1) float64, candidate rates
    behaviour_q: np.ndarray  # (K, C) P(at least one candidate on a day)
    behaviour_inv_log_none: np.ndarray  # (K, C) 1 / log(1 - q), or 0 when q = 0
    accept_ratio: np.ndarray  # (K, C, 2, B) actual rate / candidate rate, without / with penalty
    record_prob: np.ndarray  # (K, C, B) probability a committed event is recorded
    points: np.ndarray  # (K, B) int64 points per recorded event
    adapt_factor: np.ndarray  # (K, B) rate factor per recorded event (1 = none)
    kind: np.ndarray  # (B,) int64 OFFENCE / SPEECH / GOOD_DEED / LAWFUL
    false_cumprod: np.ndarray  # (K, C, F+1)
    false_q: np.ndarray  # (K, C)
    false_inv_log_none: np.ndarray  # (K, C)
    false_points: np.ndarray  # (K, F) int64 points of each false-record stream
    blacklist_below: np.ndarray  # (K,) int64; min_score when there is no threshold
    # where the periods are, and what a member must redo when one starts:
    period_of_day: np.ndarray  # (T + 2,) int64 period of each day (day 0: the first)
    restart_behaviour: np.ndarray  # (K, C) bool: the class's candidate rates change at k's start
    restart_false: np.ndarray  # (K, C) bool: its false-attribution rates change
    next_wake: np.ndarray  # (K, C) int64 first day of a later period that changes the class
    report_day: int  # the first reported day of a burn-in (run.report_from), else NEVER
    grade_min: np.ndarray  # (G,) int64, every scheme's grades, each scheme's highest first
    start_score: int  # the national scheme's
    min_score: int  # the lowest score of any scheme (the histogram's first bin)
    max_score: int  # the highest
    score_bin_width: int
    n_classes: int
    n_incomes: int
    n_regions: int
    n_propensities: int
    interacting: bool  # spillovers between members: simulate a neighbourhood in day order
    households: bool
    unit_size: int  # citizens per neighbourhood (1 without households)
    household_cum: np.ndarray  # (H,) cumulative shares of household types
    household_adults: np.ndarray  # (H,) int64
    household_elders: np.ndarray  # (H,) int64
    household_children: np.ndarray  # (H,) int64
    # population turnover (all zero without it):
    death_hazard: np.ndarray  # (3,) daily hazard of death of an ADULT, ELDER, CHILD
    band_days: np.ndarray  # (3,) float64 ages in days: adult_age, elder_age, max_age
    birth_q: float  # daily probability that an adult has a child
    birth_inv_log_none: float  # 1 / log(1 - birth_q), or 0
    # pilots: city schemes inside regions (scheme 0 is the national one; one scheme without):
    n_schemes: int
    class_scheme: np.ndarray  # (C,) int64 the scheme of each class
    pilot_cum: np.ndarray  # (R, max(1, pilots per region)) cumulative shares; -1 pads
    pilot_class_region: np.ndarray  # (R, same) the class region of each such pilot
    scheme_points: np.ndarray  # (K, S, B) int64 points per recorded event in each scheme
    scheme_false_points: np.ndarray  # (K, S, F) int64
    scheme_start: np.ndarray  # (S,) int64 start score of each scheme
    scheme_min: np.ndarray  # (S,) int64 its bounds
    scheme_max: np.ndarray  # (S,) int64
    grade_lo: np.ndarray  # (S,) int64 its grades are grade_min[grade_lo:grade_hi]
    grade_hi: np.ndarray  # (S,) int64
    transition_offset: np.ndarray  # (S,) int64 first transition column of each scheme's block
    n_transitions: int  # transition columns: the sum over schemes of grades squared
    # the kind of run, read by the universal kernel (``scsim.kernels.generate``), whose code
    # holds every kind; a specialised kernel has these as constants and never reads them:
    turnover: bool = False  # citizens age, are born and die (TURNOVER)
    pilots: bool = False  # cities with point schemes of their own (PILOTS)
    lean: bool = False  # an unpaired run takes simulate_singles (LEAN)


def _cumulative_shares(shares: list[float]) -> np.ndarray:
    cum = np.cumsum(np.asarray(shares, dtype=np.float64))
    last_used = int(np.flatnonzero(np.asarray(shares) > 0)[-1])
    cum[last_used:] = np.inf  # rounding can never push a draw past the last category
    return cum


def _process_tables(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class: cumulative products of (1 - p), q = P(any fires), 1 / log(1 - q) (0 if q = 0)."""
    n_classes, n_streams = p.shape
    cumprod = np.ones((n_classes, n_streams + 1))
    cumprod[:, 1:] = np.cumprod(1.0 - p, axis=1)
    with np.errstate(divide="ignore"):  # (a rate of 1: log 0 = -inf, a gap of one day)
        log_none = np.log1p(-p).sum(axis=1) if n_streams else np.zeros(n_classes)
        inv = np.where(log_none < 0.0, 1.0 / log_none, 0.0)
    return cumprod, -np.expm1(log_none), inv


def class_index(group: int, income: int, region: int, propensity: int, age: int,
                n_incomes: int, n_regions: int, n_propensities: int) -> int:
    return (
        ((group * n_incomes + income) * n_regions + region) * n_propensities + propensity
    ) * len(SCORED_AGES) + age


def class_regions(s: Scenario) -> list[tuple[str, int]]:
    """(region, scheme) of each class region: the regions (national scheme 0), then one per
    pilot (its region, scheme 1 + its position), so that a pilot's citizens have classes of
    their own and take every value of their region."""
    return ([(c.name, 0) for c in s.population.regions]
            + [(p.region, 1 + k) for k, p in enumerate(s.pilots.values())])


def _pilot_tables(s: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per region, the cumulative shares of its pilots and their class regions."""
    regions = [c.name for c in s.population.regions]
    inside: dict[str, list[tuple[float, int]]] = {r: [] for r in regions}
    for k, p in enumerate(s.pilots.values()):
        inside[p.region].append((p.share_of_region, len(regions) + k))
    width = max(1, *(len(v) for v in inside.values()))
    cum = np.full((len(regions), width), -1.0)
    where = np.full((len(regions), width), -1, dtype=np.int64)
    for r, name in enumerate(regions):
        total = 0.0
        for j, (share, class_region) in enumerate(inside[name]):
            total += share
            cum[r, j] = total
            where[r, j] = class_region
    return cum, where


def penalty_levels(s: Scenario) -> int:
    penalty = s.measures.employment_penalty
    return penalty.levels_down if penalty is not None else 0


class _PeriodTables(NamedTuple):
    p_candidate: np.ndarray
    accept: np.ndarray
    record: np.ndarray
    p_false: np.ndarray
    adapt: np.ndarray
    blacklist_below: int
    scheme_points: np.ndarray  # (S, B): the national scheme's first
    scheme_false_points: np.ndarray  # (S, F)


def _period_tables(s: Scenario, candidate_levels_down: int | None) -> _PeriodTables:
    """The rates, probabilities and points of one period's values."""
    pop = s.population
    groups = [c.name for c in pop.groups]
    incomes = [c.name for c in pop.income_levels]
    regions = class_regions(s)
    propensities = [c.name for c in pop.propensity_levels]
    behaviours = list(s.behaviours)
    n_b = len(behaviours)
    n_classes = len(groups) * len(incomes) * len(regions) * len(propensities) * len(SCORED_AGES)
    channel_of = {b: ch for ch in s.channels.values() for b in ch.records}
    false_streams = [ch.false_attribution for ch in s.channels.values() if ch.false_attribution]
    # a penalty deeper than the lowest level changes nothing more, so clamp it
    down = min(penalty_levels(s), len(incomes) - 1)
    candidate_down = min(max(down, candidate_levels_down or 0), len(incomes) - 1)

    # Each table over the class axes (group, income, region, propensity, age), flattened in
    # class_index's order.  The products are taken in one order, daily rate x group x income
    # x region x propensity x age, element by element, as a loop over classes would.
    shape = (len(groups), len(incomes), len(regions), len(propensities), len(SCORED_AGES))

    def along(axis: int, values: list[float]) -> np.ndarray:
        return np.array(values, dtype=np.float64).reshape(
            [len(values) if k == axis else 1 for k in range(len(shape))])

    national = along(2, [scheme == 0 for _, scheme in regions]).astype(bool)
    lower = [np.maximum(np.arange(len(incomes)) - k, 0) for k in range(candidate_down + 1)]
    p_candidate = np.zeros((n_classes, n_b))
    accept = np.ones((n_classes, 2, n_b))
    record = np.zeros((n_classes, n_b))
    p_false = np.zeros((n_classes, len(false_streams)))
    for bi, b in enumerate(behaviours):
        spec = s.behaviours[b]
        rates = (spec.daily_rate
                 * along(0, [spec.multiplier_by_group.get(g, 1.0) for g in groups])
                 * along(1, [spec.multiplier_by_income.get(i, 1.0) for i in incomes])
                 * along(2, [spec.multiplier_by_region.get(r, 1.0) for r, _ in regions])
                 * along(3, [spec.multiplier_by_propensity.get(p, 1.0) for p in propensities])
                 * along(4, [spec.multiplier_by_age.get(a, 1.0) for a in SCORED_AGES]))
        rates = np.broadcast_to(rates, shape)
        if spec.pilots_only:
            rates = np.where(national, 0.0, rates)
        reachable = [rates[:, levels] for levels in lower]  # the rate k income levels down
        highest = np.maximum.reduce(reachable)
        positive = highest > 0.0
        p_candidate[:, bi] = highest.reshape(-1)
        accept[:, 0, bi] = np.where(positive, reachable[0] / np.where(positive, highest, 1.0),
                                    1.0).reshape(-1)
        accept[:, 1, bi] = np.where(positive, reachable[down] / np.where(positive, highest, 1.0),
                                    1.0).reshape(-1)
        channel = channel_of.get(b)
        if channel is not None:
            record[:, bi] = np.broadcast_to(
                along(2, [channel.coverage_by_region.get(r, channel.coverage)
                          for r, _ in regions])
                * along(0, [channel.detection_by_group.get(g, channel.detection)
                            for g in groups]), shape).reshape(-1)
    for fi, fa in enumerate(false_streams):
        rates = np.broadcast_to(
            along(0, [fa.rate_by_group.get(g, fa.daily_rate) for g in groups])
            * along(2, [fa.multiplier_by_region.get(r, 1.0) for r, _ in regions]), shape)
        if s.behaviours[fa.behaviour].pilots_only:
            # (nobody outside the pilots is recorded for it, falsely or not)
            rates = np.where(national, 0.0, rates)
        p_false[:, fi] = rates.reshape(-1)
    scheme = s.scheme
    lowest = s.score_range()[0]
    scales = s.scales()
    return _PeriodTables(
        p_candidate, accept, record, p_false,
        adapt=np.array([s.adaptation.rate_factor_when_recorded.get(b, 1.0) for b in behaviours]),
        blacklist_below=(scheme.blacklist_below if scheme.blacklist_below is not None
                         else lowest),
        scheme_points=np.array([[x.points.get(b, 0) for b in behaviours] for x in scales],
                               dtype=np.int64).reshape(len(scales), n_b),
        scheme_false_points=np.array(
            [[x.points.get(fa.behaviour, 0) for fa in false_streams] for x in scales],
            dtype=np.int64).reshape(len(scales), len(false_streams)),
    )


def _period_index(periods: list[Period], days: int) -> np.ndarray:
    period_of_day = np.zeros(days + 2, dtype=np.int64)
    for k, period in enumerate(periods):
        period_of_day[period.first_day:period.last_day + 1] = k
    period_of_day[days + 1] = len(periods) - 1
    return period_of_day


def _wakes(periods: list[Period], cumprod: np.ndarray, false_cumprod: np.ndarray,
           blacklist_below: np.ndarray, forced: set[int]) -> tuple[np.ndarray, ...]:
    """Per period start and class: must the candidate processes restart (their rates
    changed), and the first day of the next period at which the class must wake (a restart,
    a new threshold that may list or delist without any event, or the end of a burn-in)."""
    n_periods, n_classes = cumprod.shape[:2]
    restart_b = np.zeros((n_periods, n_classes), dtype=np.bool_)
    restart_f = np.zeros((n_periods, n_classes), dtype=np.bool_)
    if n_periods > 1:
        restart_b[1:] = (cumprod[1:] != cumprod[:-1]).any(axis=-1)
        restart_f[1:] = (false_cumprod[1:] != false_cumprod[:-1]).any(axis=-1)
    wake = restart_b | restart_f
    wake[1:] |= (blacklist_below[1:] != blacklist_below[:-1])[:, None]
    wake |= np.array([p.first_day in forced for p in periods])[:, None]
    next_wake = np.full((n_periods, n_classes), NEVER, dtype=np.int64)
    for k in range(n_periods - 2, -1, -1):
        next_wake[k] = np.where(wake[k + 1], periods[k + 1].first_day, next_wake[k + 1])
    return restart_b, restart_f, next_wake




def compile_tables(s: Scenario, candidate_levels_down: int | None = None) -> KernelTables:
    """Tables of one scenario, per period of its schedule.

    ``candidate_levels_down`` is the deepest employment penalty among the
    scenarios run as a pair, so that both draw the same candidate events.
    """
    from scsim.scenario.schedule import forced_cuts
    from scsim.scenario.schedule import periods as schedule_periods

    pop = s.population
    incomes = [c.name for c in pop.income_levels]
    regions = [c.name for c in pop.regions]
    propensities = [c.name for c in pop.propensity_levels]
    behaviours = list(s.behaviours)
    periods = schedule_periods(s)
    per = [_period_tables(p.scenario, candidate_levels_down) for p in periods]
    processes = [(_process_tables(q.p_candidate), _process_tables(q.p_false)) for q in per]
    behaviour_cumprod = np.stack([b[0] for b, _ in processes])
    false_cumprod = np.stack([f[0] for _, f in processes])
    blacklist_below = np.array([q.blacklist_below for q in per], dtype=np.int64)
    report_day = s.run.first_reported_day if s.run.first_reported_day > 1 else NEVER
    restart_b, restart_f, next_wake = _wakes(periods, behaviour_cumprod, false_cumprod,
                                             blacklist_below, forced_cuts(s))
    scheme = s.scheme
    scales = s.scales()
    scheme_points = np.stack([q.scheme_points for q in per])
    scheme_false_points = np.stack([q.scheme_false_points for q in per])
    grade_counts = [len(x.grades) for x in scales]
    grade_hi = np.cumsum(grade_counts, dtype=np.int64)
    lowest, highest = s.score_range()
    pilot_cum, pilot_class_region = _pilot_tables(s)
    class_scheme = np.array([
        scheme_of
        for _g, _i, (_r, scheme_of), _p, _a in itertools.product(
            pop.groups, incomes, class_regions(s), propensities, SCORED_AGES)
    ], dtype=np.int64)
    households = pop.households
    spill = any(  # spillovers in any period: members of a neighbourhood interact
        d is not None and (d.household_sanction > 0 or d.contact_sanction > 0 or d.shaming > 0)
        for d in (p.scenario.deterrence for p in periods))
    unit_size = households.neighbourhood_size if households is not None else 1
    types = households.types if households is not None else []
    return KernelTables(
        group_cum=np.array([
            _cumulative_shares([pop.group_shares_by_region.get(r, {}).get(c.name, 0.0)
                                for c in pop.groups]
                               if r in pop.group_shares_by_region
                               else [c.share for c in pop.groups])
            for r in regions
        ]),
        income_cum=_cumulative_shares([c.share for c in pop.income_levels]),
        region_cum=_cumulative_shares([c.share for c in pop.regions]),
        propensity_cum=_cumulative_shares([c.share for c in pop.propensity_levels]),
        behaviour_cumprod=behaviour_cumprod,
        behaviour_q=np.stack([b[1] for b, _ in processes]),
        behaviour_inv_log_none=np.stack([b[2] for b, _ in processes]),
        accept_ratio=np.stack([q.accept for q in per]),
        record_prob=np.stack([q.record for q in per]),
        points=np.ascontiguousarray(scheme_points[:, 0]),  # the national scheme's
        adapt_factor=np.stack([q.adapt for q in per]),
        kind=np.array([KIND_CODES[s.behaviours[b].kind] for b in behaviours], dtype=np.int64),
        false_cumprod=false_cumprod,
        false_q=np.stack([f[1] for _, f in processes]),
        false_inv_log_none=np.stack([f[2] for _, f in processes]),
        false_points=np.ascontiguousarray(scheme_false_points[:, 0]),
        blacklist_below=blacklist_below,
        period_of_day=_period_index(periods, s.run.days),
        restart_behaviour=restart_b,
        restart_false=restart_f,
        next_wake=next_wake,
        report_day=report_day,
        grade_min=np.array([g.min_score for g in s.all_grades()], dtype=np.int64),
        start_score=scheme.start_score,
        min_score=lowest,
        max_score=highest,
        score_bin_width=s.output.score_bin_width,
        n_classes=behaviour_cumprod.shape[1],
        n_incomes=len(incomes),
        n_regions=len(class_regions(s)),
        n_propensities=len(propensities),
        interacting=spill,
        households=households is not None,
        unit_size=unit_size,
        household_cum=_cumulative_shares([t.share for t in types] or [1.0]),
        household_adults=np.array([t.adults for t in types] or [1], dtype=np.int64),
        household_elders=np.array([t.elders for t in types] or [0], dtype=np.int64),
        household_children=np.array([t.children for t in types] or [0], dtype=np.int64),
        **_turnover_tables(s),
        n_schemes=len(scales),
        class_scheme=class_scheme,
        pilot_cum=pilot_cum,
        pilot_class_region=pilot_class_region,
        scheme_points=scheme_points,
        scheme_false_points=scheme_false_points,
        scheme_start=np.array([x.start_score for x in scales], dtype=np.int64),
        scheme_min=np.array([x.min_score for x in scales], dtype=np.int64),
        scheme_max=np.array([x.max_score for x in scales], dtype=np.int64),
        grade_lo=grade_hi - np.array(grade_counts, dtype=np.int64),
        grade_hi=grade_hi,
        transition_offset=np.cumsum([0, *(n * n for n in grade_counts)],
                                    dtype=np.int64)[:-1],
        n_transitions=sum(n * n for n in grade_counts),
    )


def _turnover_tables(s: Scenario) -> dict:
    """Daily hazards and rates of ageing, births and deaths (``population.turnover``)."""
    turnover = s.population.turnover
    if turnover is None:
        return {"death_hazard": np.zeros(3), "band_days": np.full(3, np.inf), "birth_q": 0.0,
                "birth_inv_log_none": 0.0}
    per_day = [turnover.deaths_per_1000.get(band, 0.0) / 1000 / 365
               for band in ("adult", "elder", "child")]  # (ADULT, ELDER, CHILD)
    households = s.population.households
    if households is None:
        adults_share = 1.0
    else:  # births are per citizen; each is given to an adult of a household
        members = sum(h.share * (h.adults + h.elders + h.children) for h in households.types)
        adults_share = sum(h.share * h.adults for h in households.types) / members
    birth_q = min(turnover.births_per_1000 / 1000 / 365 / adults_share, 1.0)
    return {
        "death_hazard": np.array(per_day),  # a rate per year is a hazard: per day / 365
        "band_days": 365.0 * np.array([turnover.adult_age, turnover.elder_age,
                                       turnover.max_age], dtype=np.float64),
        "birth_q": birth_q,
        "birth_inv_log_none": 1.0 / np.log1p(-birth_q) if 0.0 < birth_q < 1.0 else 0.0,
    }


def n_score_bins(t: KernelTables) -> int:
    return (t.max_score - t.min_score) // t.score_bin_width + 1
