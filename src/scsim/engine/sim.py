"""The run loop: cut the population into chunks, call the kernel, sum the tallies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import numpy as np

from scsim.engine.tables import KernelTables, compile_tables, n_score_bins
from scsim.kernels.citizen_year import (
    LEVEL_BLACKLISTED,
    LEVEL_FIRST_GRADE,
    LEVEL_POPULATION,
    LEVEL_SCORE_SUM,
    n_flow_columns,
    n_level_columns,
    simulate_chunk,
)
from scsim.rng.counter import seed_key
from scsim.scenario.model import Scenario

DEFAULT_CHUNK_SIZE = 1 << 20


@dataclass
class SimulationResult:
    """Daily tallies per group, plus the end state of every citizen."""

    scenario: Scenario
    tables: KernelTables
    population: np.ndarray
    """(G,) citizens per group."""
    flows: np.ndarray
    """(T+1, G, flow columns) events on each day; row 0 is empty."""
    levels: np.ndarray
    """(T+1, G, level columns) state at the end of each day; row 0 is day 0."""
    score_histogram: np.ndarray
    """(T+1, G, bins) citizens per score bin at the end of each day."""
    final_score: np.ndarray
    final_false_records: np.ndarray
    first_id: int
    n_workers: int
    chunk_size: int
    timings: dict[str, float] = field(default_factory=dict)


def _fill_initial_state(
    t: KernelTables, population: np.ndarray, levels0: np.ndarray, hist0: np.ndarray
) -> None:
    """Day-0 levels: every citizen starts at the start score with no records."""
    levels0[:, LEVEL_SCORE_SUM] = population * t.start_score
    levels0[:, LEVEL_BLACKLISTED] = population if t.start_score < t.blacklist_below else 0
    if len(t.grade_min):
        start_grade = int(np.argmax(t.start_score >= t.grade_min))
        levels0[:, LEVEL_FIRST_GRADE + start_grade] = population
    hist0[:, (t.start_score - t.min_score) // t.score_bin_width] = population


ProgressCallback = Callable[[int], None]
"""Called after each chunk with the number of citizens simulated so far."""


def simulate(
    scenario: Scenario,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    first_id: int = 0,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Simulate citizens ``first_id .. first_id + population.size - 1``.

    The number of worker threads is numba's current setting
    (``numba.set_num_threads`` or ``NUMBA_NUM_THREADS``); it changes speed
    only, never results.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    t0 = time.perf_counter()
    tables = compile_tables(scenario)
    n = scenario.population.size
    horizon = scenario.run.days
    n_groups = len(scenario.population.groups)
    n_workers = numba.get_num_threads()
    shape = (n_workers, horizon + 1, n_groups)
    flows = np.zeros((*shape, n_flow_columns(len(scenario.behaviours))), dtype=np.int64)
    levels = np.zeros((*shape, n_level_columns(len(scenario.scheme.grades))), dtype=np.int64)
    hist = np.zeros((*shape, n_score_bins(tables)), dtype=np.int64)
    final_score = np.empty(n, dtype=np.int16)
    final_false = np.empty(n, dtype=np.uint8)
    key = np.uint64(seed_key(scenario.run.seed))
    t1 = time.perf_counter()

    for start in range(0, n, chunk_size):
        count = min(chunk_size, n - start)
        simulate_chunk(
            np.int64(first_id + start), np.int64(count), key, np.int64(horizon), tables,
            flows, levels, hist,
            final_score[start : start + count], final_false[start : start + count],
        )
        if progress is not None:
            progress(start + count)
    t2 = time.perf_counter()

    levels_total = levels.sum(axis=0)
    hist_total = hist.sum(axis=0)
    population = levels_total[0, :, LEVEL_POPULATION].copy()
    _fill_initial_state(tables, population, levels_total[0], hist_total[0])
    result = SimulationResult(
        scenario=scenario,
        tables=tables,
        population=population,
        flows=flows.sum(axis=0),
        levels=np.cumsum(levels_total, axis=0),
        score_histogram=np.cumsum(hist_total, axis=0),
        final_score=final_score,
        final_false_records=final_false,
        first_id=first_id,
        n_workers=n_workers,
        chunk_size=chunk_size,
    )
    result.timings = {
        "setup_s": t1 - t0,
        "simulate_s": t2 - t1,
        "aggregate_s": time.perf_counter() - t2,
    }
    return result
