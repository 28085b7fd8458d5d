"""The run loop: cut the population into pieces, call the kernel on each, sum the tallies."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numba
import numpy as np

from scsim.engine import DEFAULT_CHUNK_SIZE
from scsim.engine.choice import KernelPlan, plan_kernel
from scsim.engine.tables import (
    KernelTables,
    class_regions,
    compile_tables,
    n_score_bins,
    penalty_levels,
)
from scsim.kernels.layout import (
    CELL_COLUMNS,
    LEDGER_SQ_HIGH,
    LEDGER_SQ_LOW,
    LEDGER_SUM,
    LEVEL_BLACKLISTED,
    LEVEL_POPULATION,
    LEVEL_SCORE_SUM,
    LEVEL_SCORED,
    N_AGE_BANDS,
    NEVER,
    FlowLayout,
    KernelLayout,
)
from scsim.mechanisms import Mechanism, reported
from scsim.rng.counter import seed_key
from scsim.scenario.model import Scenario
from scsim.scenario.pairing import world_differences

NOT_TRACED = np.int64(-1)
EXAMPLES = 4
"""Citizens kept per ledger quantity as examples (the smallest ids with a positive value)."""


def example_buffer(n_workers: int, layout: KernelLayout) -> np.ndarray:
    """The workers' examples: per quantity, ids kept in increasing order (NEVER: none)."""
    return np.full((n_workers, len(layout.quantities), EXAMPLES), NEVER, dtype=np.int64)


def merge_examples(examples: np.ndarray, layout: KernelLayout) -> dict[str, list[int]]:
    """The smallest ids over all workers, per quantity that has any."""
    merged = {}
    for q, name in enumerate(layout.quantities):
        ids = np.unique(examples[:, q].ravel())
        ids = ids[ids < NEVER][:EXAMPLES]
        if len(ids):
            merged[name] = [int(x) for x in ids]
    return merged


@dataclass
class Tallies:
    """Daily tallies per group of one scenario."""

    flows: np.ndarray
    """(T+1, G, flow columns) events on each day; row 0 is empty."""
    levels: np.ndarray
    """(T+1, G, level columns) state at the end of each day; row 0 is day 0."""
    score_histogram: np.ndarray
    """(T+1, G, bins) scored citizens per score bin at the end of each day."""


@dataclass(frozen=True)
class RunPlan:
    """What a run is made of, derived once from its scenarios and its kernel's layout: the
    output layer (daily tables, the ledger, stories) reads it rather than deriving it again."""

    mechanisms: tuple[Mechanism, ...]
    """The mechanisms whose columns and quantities the run's outputs carry."""
    flows: FlowLayout
    """Where each flow of the run is (``flows[..., column]``)."""
    counterfactual_flows: FlowLayout | None
    class_regions: tuple[tuple[str, int], ...]
    """(region, scheme) of each class region (``engine.tables.class_regions``)."""

    @classmethod
    def of(cls, s: Scenario, counterfactual: Scenario | None, layout: KernelLayout) -> RunPlan:
        return cls(reported(s, counterfactual), FlowLayout.of(s, layout),
                   None if counterfactual is None else FlowLayout.of(counterfactual, layout),
                   tuple(class_regions(s)))


@dataclass
class SimulationResult:
    """Daily tallies per group, the paired ledger, and the end state of every citizen."""

    scenario: Scenario
    tables: KernelTables
    population: np.ndarray
    """(G,) citizens per group."""
    scored: np.ndarray
    """(G,) scored citizens (adults and elders) per group."""
    run: Tallies
    counterfactual: Scenario | None
    """The scenario paired with the run, if any."""
    counterfactual_tallies: Tallies | None
    kernel_layout: KernelLayout
    """The columns of the kernel that simulated the run (and its counterfactual)."""
    ledger_sum: np.ndarray
    """(G, quantities) int64 sums over citizens of each per-citizen ledger quantity."""
    ledger_sum_squares: np.ndarray
    """(G, quantities) float64 sums of their squares (summed exactly, then rounded)."""
    final_score: np.ndarray
    final_false_records: np.ndarray
    first_id: int
    n_workers: int
    chunk_size: int
    timings: dict[str, float] = field(default_factory=dict)
    cell_sum: np.ndarray | None = None
    """(class regions, age bands on day 0, income levels, groups, quantities) the sums of each
    cell's citizens (they add up to ``ledger_sum``): the ledger by scheme, region, age band
    and income level (``scsim.ledger``)."""
    cell_sum_squares: np.ndarray | None = None
    """The same cells' sums of squares (summed exactly, then rounded)."""
    examples: dict[str, list[int]] = field(default_factory=dict)
    """Per ledger quantity, the smallest ids (up to ``EXAMPLES``) of citizens with a positive
    value of it: whom to tell the story of, for each kind the run has."""
    cells: np.ndarray | None = None
    """(class regions, age bands, income levels, groups, 3) each cell's citizens, and with
    pilots its scored
    citizens and their summed final scores (``layout.CELL_COLUMNS``)."""
    kernel: str = "specialised"
    """The kernel that ran: ``universal`` or ``specialised`` (``scsim.engine.choice``)."""
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Tables the output layer derives from the result, kept so each is built once
    (``results.daily_table``)."""

    @cached_property
    def plan(self) -> RunPlan:
        return RunPlan.of(self.scenario, self.counterfactual, self.kernel_layout)

    @property
    def flows(self) -> np.ndarray:
        return self.run.flows

    @property
    def flow_layout(self) -> FlowLayout:
        """Where each flow of the run is (``flows[..., column]``)."""
        return self.plan.flows

    def ledger_sums(self, quantity: str) -> np.ndarray:
        """(G,) the per-group sum of a ledger quantity (zeros if the kernel has none of it)."""
        column = self.kernel_layout.quantity(quantity)
        if column is None:
            return np.zeros(self.ledger_sum.shape[0], dtype=np.int64)
        return self.ledger_sum[:, column]

    def ledger_squares(self, quantity: str) -> np.ndarray:
        column = self.kernel_layout.quantity(quantity)
        if column is None:
            return np.zeros(self.ledger_sum.shape[0])
        return self.ledger_sum_squares[:, column]

    @property
    def levels(self) -> np.ndarray:
        return self.run.levels

    @property
    def score_histogram(self) -> np.ndarray:
        return self.run.score_histogram


@dataclass(frozen=True)
class Variant:
    """One side of a run as the kernel sees it: its tables and its mechanisms' parameters."""

    tables: KernelTables
    params: tuple
    mechanisms: tuple[Mechanism, ...]
    layout: KernelLayout


def _fill_initial_state(v: Variant, scored: np.ndarray, levels0: np.ndarray,
                        hist0: np.ndarray) -> None:
    """Day-0 levels: every scored citizen starts at the start score with no records (with
    pilots, whose schemes start apart, the kernel counts each citizen's day 0 itself)."""
    t = v.tables
    levels0[:, LEVEL_BLACKLISTED] = 0  # the schema keeps start_score >= blacklist_below
    if t.n_schemes > 1:
        return
    levels0[:, LEVEL_SCORE_SUM] = scored * t.start_score
    if len(t.grade_min):
        start_grade = int(np.argmax(t.start_score >= t.grade_min))
        levels0[:, v.layout.first_grade + start_grade] = scored
        for m, p in zip(v.mechanisms, v.params, strict=True):
            if m.start_levels is not None:
                for name, value in m.start_levels(p, start_grade).items():
                    levels0[:, v.layout.level(name)] = scored * value
    hist0[:, (t.start_score - t.min_score) // t.score_bin_width] = scored


def _tallies(v: Variant, flows: np.ndarray, levels: np.ndarray, hist: np.ndarray) -> Tallies:
    levels_total = levels.sum(axis=0)
    hist_total = hist.sum(axis=0)
    _fill_initial_state(v, levels_total[0, :, LEVEL_SCORED], levels_total[0], hist_total[0])
    return Tallies(flows.sum(axis=0), np.cumsum(levels_total, axis=0),
                   np.cumsum(hist_total, axis=0))


def _exact_squares(ledger: np.ndarray) -> np.ndarray:
    """Sum the two-word sums of squares of all workers with Python integers: (rows, Q)."""
    high = ledger[..., LEDGER_SQ_HIGH].astype(object).sum(axis=0)
    low = ledger[..., LEDGER_SQ_LOW].astype(object).sum(axis=0)
    return high * (1 << 62) + low


def ledger_buffer(n_workers: int, groups: int, layout: KernelLayout,
                  t: KernelTables) -> np.ndarray:
    """The workers' ledgers: a row per (class region, age band, income level, group) cell,
    the rows' citizens (and with pilots their scores) after the quantities
    (``layout.CELL_COLUMNS``)."""
    return np.zeros((n_workers, t.n_regions * N_AGE_BANDS * t.n_incomes * groups,
                     len(layout.quantities) + len(CELL_COLUMNS), 3), dtype=np.int64)


def _reported_columns(plan: KernelPlan, scenario: Scenario, counterfactual: Scenario | None,
                      flows: np.ndarray, levels: np.ndarray, flows_cf: np.ndarray,
                      levels_cf: np.ndarray, ledger: np.ndarray,
                      examples: np.ndarray) -> tuple[np.ndarray, ...]:
    """The universal kernel's buffers cut to the run's own columns, in the specialised
    kernel's order (the others are those of mechanisms the run lacks: zero throughout)."""
    where = plan.columns()
    kernel, run = plan.layout, plan.reported_layout

    def cut(buffer: np.ndarray, named: np.ndarray, n_named: int) -> np.ndarray:
        rest = np.arange(n_named, buffer.shape[-1], dtype=np.intp)
        return np.take(buffer, np.concatenate([named, rest]), axis=-1)

    flows = cut(flows, where["flows"], len(kernel.flows))
    levels = cut(levels, where["levels"], len(kernel.levels))
    if counterfactual is not None:
        flows_cf = cut(flows_cf, where["flows"], len(kernel.flows))
        levels_cf = cut(levels_cf, where["levels"], len(kernel.levels))
    ledger = np.take(ledger, np.concatenate([
        where["quantities"], np.arange(len(kernel.quantities), ledger.shape[2])]), axis=2)
    examples = np.take(examples, where["quantities"], axis=1)
    assert flows.shape[-1] == FlowLayout.of(scenario, run).width
    return flows, levels, flows_cf, levels_cf, ledger, examples


ProgressCallback = Callable[[int], None]
"""Called after each piece with the number of citizens simulated so far."""


def _buffers(s: Scenario, t: KernelTables, layout: KernelLayout, n_workers: int,
             extra_groups: int = 0) -> tuple[np.ndarray, ...]:
    shape = (n_workers, s.run.days + 1, len(s.population.groups) + extra_groups)
    return (
        np.zeros((*shape, FlowLayout.of(s, layout).width), dtype=np.int64),
        np.zeros((*shape, layout.n_levels(len(s.all_grades()))), dtype=np.int64),
        np.zeros((*shape, n_score_bins(t)), dtype=np.int64),
    )


def simulate(
    scenario: Scenario,
    *,
    counterfactual: Scenario | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    first_id: int = 0,
    progress: ProgressCallback | None = None,
    kernel: str = "auto",
) -> SimulationResult:
    """Simulate citizens ``first_id .. first_id + population.size - 1``.

    With a ``counterfactual`` (a scenario of the same world, see
    ``scsim.scenario.pairing``) every neighbourhood is simulated under both,
    with the same draws, and the ledger holds exact per-citizen differences.
    The number of worker threads is numba's current setting
    (``numba.set_num_threads`` or ``NUMBA_NUM_THREADS``); it changes speed
    only, never results.  ``chunk_size`` (citizens per kernel call) is rounded up to whole
    neighbourhoods.  ``kernel``: ``auto``, ``universal`` or ``specialised``
    (``scsim.engine.choice``); it too changes speed only.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    if counterfactual is not None and (problems := world_differences(scenario, counterfactual)):
        raise ValueError("; ".join(f"counterfactual {field}: {why}" for field, why in problems))
    t0 = time.perf_counter()
    deepest = max(penalty_levels(scenario),
                  penalty_levels(counterfactual) if counterfactual is not None else 0)
    tables = compile_tables(scenario, deepest)
    tables_cf = compile_tables(counterfactual, deepest) if counterfactual is not None else tables
    plan = plan_kernel(scenario, counterfactual, kernel)
    tables = plan.tables(tables)
    tables_cf = plan.tables(tables_cf)
    layout = plan.layout
    params = plan.parameters(scenario, tables)
    params_cf = (plan.parameters(counterfactual, tables_cf)
                 if counterfactual is not None else params)
    kernel_module = plan.module
    unit = tables.unit_size
    chunk_size = -(-chunk_size // unit) * unit
    n = scenario.population.size
    horizon = scenario.run.days
    n_workers = numba.get_num_threads()
    flows, levels, hist = _buffers(scenario, tables, layout, n_workers)
    if counterfactual is not None:
        flows_cf, levels_cf, hist_cf = _buffers(counterfactual, tables_cf, layout, n_workers)
    else:
        flows_cf = levels_cf = hist_cf = np.zeros((n_workers, 1, 1, 1), dtype=np.int64)
    ledger = ledger_buffer(n_workers, len(scenario.population.groups), layout, tables)
    examples = example_buffer(n_workers, layout)
    final_score = np.empty(n, dtype=np.int16)
    final_false = np.empty(n, dtype=np.uint8)
    key = np.uint64(seed_key(scenario.run.seed))
    t1 = time.perf_counter()

    paired = counterfactual is not None

    pieces = range(0, n, chunk_size)
    next_piece = itertools.count()  # (next() on it is atomic: each piece is taken once)
    finished: queue.SimpleQueue[int | BaseException] = queue.SimpleQueue()
    stop = threading.Event()

    def work(w: int) -> None:
        """Take pieces until none is left (or the run stops), into slice ``w`` of every
        buffer, which no other thread touches."""
        try:
            while not stop.is_set():
                i = next(next_piece)
                if i >= len(pieces):
                    return
                start = pieces[i]
                count = min(chunk_size, n - start)
                kernel_module.simulate_worker(
                    np.int64(first_id + start), np.int64(count), np.int64(0),
                    np.int64(-(-count // unit)), key, np.int64(horizon), tables, tables_cf,
                    params, params_cf, paired, flows[w], levels[w], hist[w], flows_cf[w],
                    levels_cf[w], hist_cf[w], ledger[w], examples[w],
                    final_score[start : start + count], final_false[start : start + count],
                    NOT_TRACED,
                )
                finished.put(count)
        except BaseException as exc:  # (raised again in the calling thread)
            finished.put(exc)

    # Each piece of ``chunk_size`` citizens is one kernel call, in a thread that runs it
    # without the GIL; the threads take pieces as they finish the last (no barrier but the
    # end), so one slowed thread does not idle the others.  All sums are integers and the
    # examples are the smallest ids, so which thread simulates a piece, or in what order,
    # never changes results.  The calling thread only waits on a queue: a signal
    # (KeyboardInterrupt, raised wherever the thread is) cannot leave a lock held that a
    # worker then waits for, as waiting on thousands of futures could.
    threads = [threading.Thread(target=work, args=(w,), name=f"scsim-piece-{w}", daemon=True)
               for w in range(n_workers)]
    try:
        for thread in threads:
            thread.start()
        done = 0
        while done < n:
            item = finished.get()
            if isinstance(item, BaseException):
                raise item
            done += item
            if progress is not None:
                progress(done)
    finally:
        # on an error or a signal, start no further piece and wait only for the ones
        # running (a few milliseconds)
        stop.set()
        for thread in threads:
            if thread.ident is not None:
                thread.join()
    t2 = time.perf_counter()

    if plan.kind == "universal":  # the run's own columns, as a specialised kernel gives
        flows, levels, flows_cf, levels_cf, ledger, examples = _reported_columns(
            plan, scenario, counterfactual, flows, levels, flows_cf, levels_cf, ledger,
            examples)
    layout = plan.reported_layout
    mechanisms = plan.reported
    run = _tallies(Variant(tables, plan.reported_parameters(scenario, tables, params),
                           mechanisms, layout), flows, levels, hist)
    n_q = len(layout.quantities)
    shape = (tables.n_regions, N_AGE_BANDS, tables.n_incomes, len(scenario.population.groups))
    sums = ledger[..., LEDGER_SUM].sum(axis=0).reshape(*shape, ledger.shape[2])
    exact = _exact_squares(ledger[:, :, :n_q]).reshape(*shape, n_q)
    cell_sum, cells = sums[..., :n_q], sums[..., n_q:]
    ledger_sum = cell_sum.sum(axis=(0, 1, 2))
    ledger_sum_squares = exact.sum(axis=(0, 1, 2)).astype(np.float64)  # (exact, then rounded)
    result = SimulationResult(
        scenario=scenario,
        tables=tables,
        population=run.levels[0, :, LEVEL_POPULATION].copy(),
        scored=run.levels[0, :, LEVEL_SCORED].copy(),
        run=run,
        counterfactual=counterfactual,
        counterfactual_tallies=(
            _tallies(Variant(tables_cf,
                             plan.reported_parameters(counterfactual, tables_cf, params_cf),
                             mechanisms, layout), flows_cf, levels_cf, hist_cf)
            if counterfactual is not None
            else None
        ),
        kernel_layout=layout,
        ledger_sum=ledger_sum,
        ledger_sum_squares=ledger_sum_squares,
        final_score=final_score,
        final_false_records=final_false,
        first_id=first_id,
        n_workers=n_workers,
        chunk_size=chunk_size,
        cell_sum=cell_sum,
        cell_sum_squares=exact.astype(np.float64),
        cells=cells,
        examples=merge_examples(examples, layout),
        kernel=plan.kind,
    )
    result.timings = {
        "setup_s": t1 - t0,
        "simulate_s": t2 - t1,
        "aggregate_s": time.perf_counter() - t2,
    }
    return result
