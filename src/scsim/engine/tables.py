"""Compile a validated scenario into the flat arrays the kernel reads.

A citizen's *class* is the combination (group, income level, region); every
rate and probability the kernel needs is tabulated per class, so the kernel
never looks at names or dictionaries.

Two candidate processes run per citizen:

* the **behaviour** process (the world): on each day, behaviour ``b`` fires
  independently with probability ``p[c, b]``, the rate before adaptation;
* the **false-attribution** process (the system): each channel with a false
  match rate attributes a false record with probability ``q[c, f]``.

Each process is stored as the cumulative products ``P[c, t] = prod_{s<t} (1 -
p[c, s])`` (``P[c, 0] = 1``), from which the kernel draws the gap to the next
day on which any stream fires and which streams fire that day.  Keeping the
world's process separate from the system's means that a policy change never
moves a behaviour draw: paired runs share every behaviour event.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from scsim.scenario.model import Scenario


class KernelTables(NamedTuple):
    """Everything the kernel needs, as arrays (numba accepts named tuples)."""

    group_cum: np.ndarray  # (G,) float64 cumulative shares (inf from the last used one)
    income_cum: np.ndarray  # (I,)
    region_cum: np.ndarray  # (R,)
    behaviour_cumprod: np.ndarray  # (C, B+1) float64
    behaviour_q: np.ndarray  # (C,) P(at least one behaviour fires on a day)
    behaviour_inv_log_none: np.ndarray  # (C,) 1 / log(1 - q), or 0 when q = 0
    record_prob: np.ndarray  # (C, B) probability a committed event is recorded
    points: np.ndarray  # (B,) int64 points per recorded event
    adapt_factor: np.ndarray  # (B,) rate factor per recorded event (1 = none)
    false_cumprod: np.ndarray  # (C, F+1)
    false_q: np.ndarray  # (C,)
    false_inv_log_none: np.ndarray  # (C,)
    false_points: np.ndarray  # (F,) int64 points of each false-record stream
    trip_prob: np.ndarray  # (C,) daily probability of a trip attempt (0 if no ban)
    grade_min: np.ndarray  # (K,) int64, highest first
    start_score: int
    min_score: int
    max_score: int
    blacklist_below: int  # min_score when there is no blacklist: nobody is below it
    score_bin_width: int
    n_incomes: int
    n_regions: int


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
    log_none = np.log1p(-p).sum(axis=1) if n_streams else np.zeros(n_classes)
    with np.errstate(divide="ignore"):
        inv = np.where(log_none < 0.0, 1.0 / log_none, 0.0)
    return cumprod, -np.expm1(log_none), inv


def class_index(group: int, income: int, region: int, n_incomes: int, n_regions: int) -> int:
    return (group * n_incomes + income) * n_regions + region


def compile_tables(s: Scenario) -> KernelTables:
    pop = s.population
    groups = [c.name for c in pop.groups]
    incomes = [c.name for c in pop.income_levels]
    regions = [c.name for c in pop.regions]
    behaviours = list(s.behaviours)
    n_classes = len(groups) * len(incomes) * len(regions)
    channel_of = {b: ch for ch in s.channels.values() for b in ch.records}
    false_streams = [ch.false_attribution for ch in s.channels.values() if ch.false_attribution]

    p_behaviour = np.zeros((n_classes, len(behaviours)))
    record = np.zeros((n_classes, len(behaviours)))
    p_false = np.zeros((n_classes, len(false_streams)))
    trip = np.zeros(n_classes)
    ban = s.measures.travel_ban
    for (gi, g), (ii, i), (ri, r) in itertools.product(
        enumerate(groups), enumerate(incomes), enumerate(regions)
    ):
        c = class_index(gi, ii, ri, len(incomes), len(regions))
        for bi, b in enumerate(behaviours):
            spec = s.behaviours[b]
            p_behaviour[c, bi] = (
                spec.daily_rate
                * spec.multiplier_by_group.get(g, 1.0)
                * spec.multiplier_by_income.get(i, 1.0)
                * spec.multiplier_by_region.get(r, 1.0)
            )
            channel = channel_of.get(b)
            if channel is not None:
                record[c, bi] = channel.coverage_by_region.get(
                    r, channel.coverage
                ) * channel.detection_by_group.get(g, channel.detection)
        for fi, fa in enumerate(false_streams):
            p_false[c, fi] = fa.rate_by_group.get(g, fa.daily_rate)
        trip[c] = ban.daily_trip_rate if ban is not None else 0.0

    behaviour_cumprod, behaviour_q, behaviour_inv_log_none = _process_tables(p_behaviour)
    false_cumprod, false_q, false_inv_log_none = _process_tables(p_false)
    scheme = s.scheme
    return KernelTables(
        group_cum=_cumulative_shares([c.share for c in pop.groups]),
        income_cum=_cumulative_shares([c.share for c in pop.income_levels]),
        region_cum=_cumulative_shares([c.share for c in pop.regions]),
        behaviour_cumprod=behaviour_cumprod,
        behaviour_q=behaviour_q,
        behaviour_inv_log_none=behaviour_inv_log_none,
        record_prob=record,
        points=np.array([scheme.points.get(b, 0) for b in behaviours], dtype=np.int64),
        adapt_factor=np.array(
            [s.adaptation.rate_factor_when_recorded.get(b, 1.0) for b in behaviours]
        ),
        false_cumprod=false_cumprod,
        false_q=false_q,
        false_inv_log_none=false_inv_log_none,
        false_points=np.array(
            [scheme.points.get(fa.behaviour, 0) for fa in false_streams], dtype=np.int64
        ),
        trip_prob=trip,
        grade_min=np.array([g.min_score for g in scheme.grades], dtype=np.int64),
        start_score=scheme.start_score,
        min_score=scheme.min_score,
        max_score=scheme.max_score,
        blacklist_below=(
            scheme.blacklist_below if scheme.blacklist_below is not None else scheme.min_score
        ),
        score_bin_width=s.output.score_bin_width,
        n_incomes=len(incomes),
        n_regions=len(regions),
    )


def n_score_bins(t: KernelTables) -> int:
    return (t.max_score - t.min_score) // t.score_bin_width + 1
