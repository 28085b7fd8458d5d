"""Turn the kernel's tallies into the output tables of the output contract.

``daily.parquet``: one row per (day, group), days 1..T, with the contract's
columns first, then per-behaviour and per-grade columns.
``score_histogram.parquet``: citizens per score bin, per (day, group), zero
bins omitted.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from scsim.engine.sim import SimulationResult
from scsim.kernels.citizen_year import (
    FLOW_DENIED_TRIPS,
    FLOW_ENTERED_BLACKLIST,
    FLOW_FALSE_RECORDS,
    FLOW_LEFT_BLACKLIST,
    LEVEL_BLACKLISTED,
    LEVEL_FIRST_GRADE,
    LEVEL_SCORE_SUM,
    LEVEL_WITH_FALSE_RECORDS,
    LEVEL_WRONGLY_BLACKLISTED,
)

CONTRACT_COLUMNS = (
    "day",
    "group",
    "population",
    "mean_score",
    "blacklisted",
    "wrongly_blacklisted",
    "denied_trips",
    "speech_events",
    "recorded_speech",
)
QUANTILES = (0.1, 0.5, 0.9)


def score_quantiles(histogram: np.ndarray, population: np.ndarray, min_score: int, width: int,
                    q: float) -> np.ndarray:
    """Lower q-quantile of the score per (day, group): the smallest bin edge s with F(s) >= q.

    Exact when bins are one point wide; otherwise the lower edge of the bin.
    """
    cumulative = np.cumsum(histogram, axis=-1)
    target = np.ceil(q * population)[None, :, None]
    below = (cumulative < np.maximum(target, 1)).sum(axis=-1)
    return min_score + below * width


def daily_table(result: SimulationResult) -> pa.Table:
    s = result.scenario
    days = s.run.days
    groups = [c.name for c in s.population.groups]
    behaviours = list(s.behaviours)
    n_b = len(behaviours)
    population = result.population
    flows = result.flows[1:]
    levels = result.levels[1:]
    hist = result.score_histogram[1:]

    day = np.repeat(np.arange(1, days + 1, dtype=np.int32), len(groups))
    group = np.tile(np.array(groups, dtype=object), days)

    def per_row(values: np.ndarray) -> np.ndarray:
        return values.reshape(-1)

    speech = [k for k, b in enumerate(behaviours) if s.behaviours[b].kind == "speech"]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = levels[:, :, LEVEL_SCORE_SUM] / population[None, :]
    columns: dict[str, np.ndarray] = {
        "day": day,
        "group": group,
        "population": per_row(np.broadcast_to(population, (days, len(groups)))),
        "mean_score": per_row(np.where(population[None, :] > 0, mean_score, np.nan)),
        "blacklisted": per_row(levels[:, :, LEVEL_BLACKLISTED]),
        "wrongly_blacklisted": per_row(levels[:, :, LEVEL_WRONGLY_BLACKLISTED]),
        "denied_trips": per_row(flows[:, :, 2 * n_b + FLOW_DENIED_TRIPS]),
        "speech_events": per_row(flows[:, :, speech].sum(axis=-1)),
        "recorded_speech": per_row(flows[:, :, [n_b + k for k in speech]].sum(axis=-1)),
        "entered_blacklist": per_row(flows[:, :, 2 * n_b + FLOW_ENTERED_BLACKLIST]),
        "left_blacklist": per_row(flows[:, :, 2 * n_b + FLOW_LEFT_BLACKLIST]),
        "false_records": per_row(flows[:, :, 2 * n_b + FLOW_FALSE_RECORDS]),
        "citizens_with_false_records": per_row(levels[:, :, LEVEL_WITH_FALSE_RECORDS]),
    }
    t = result.tables
    for q in QUANTILES:
        columns[f"score_p{round(q * 100):02d}"] = per_row(
            score_quantiles(hist, population, t.min_score, t.score_bin_width, q)
        )
    for k, grade in enumerate(s.scheme.grades):
        columns[f"grade_{grade.name}"] = per_row(levels[:, :, LEVEL_FIRST_GRADE + k])
    for k, b in enumerate(behaviours):
        columns[f"{b}_committed"] = per_row(flows[:, :, k])
        columns[f"{b}_recorded"] = per_row(flows[:, :, n_b + k])
    return pa.table(columns)


def histogram_table(result: SimulationResult) -> pa.Table:
    s = result.scenario
    t = result.tables
    groups = np.array([c.name for c in s.population.groups], dtype=object)
    hist = result.score_histogram[1:]
    day, group, bin_index = np.nonzero(hist)
    low = t.min_score + bin_index * t.score_bin_width
    return pa.table(
        {
            "day": (day + 1).astype(np.int32),
            "group": groups[group],
            "score_low": low.astype(np.int32),
            "score_high": np.minimum(low + t.score_bin_width - 1, t.max_score).astype(np.int32),
            "citizens": hist[day, group, bin_index],
        }
    )
