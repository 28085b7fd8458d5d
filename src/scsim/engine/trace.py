"""Follow one synthetic citizen: re-simulate their neighbourhood and keep their own tallies.

A neighbourhood's simulation depends only on the seed, the ids of its members
and the scenario, so running it alone reproduces exactly what happened to it
in the full run.  The kernel is told the traced citizen's id and tallies that
citizen in an extra group row, so the row holds one person's day-by-day
story: what they did, what was recorded (true or false), their score, grade
and sanctions.  This is for explaining the system to readers; it looks up
nobody real, since every citizen is synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scsim.engine.choice import plan_kernel
from scsim.engine.sim import (
    Variant,
    _buffers,
    _fill_initial_state,
    _reported_columns,
    example_buffer,
    ledger_buffer,
)
from scsim.engine.tables import compile_tables, n_score_bins, penalty_levels
from scsim.kernels.layout import LEDGER_SUM, LEVEL_SCORED, KernelLayout
from scsim.kernels.neighbourhood import neighbourhood_members
from scsim.rng.counter import seed_key
from scsim.scenario.model import AGE_BANDS, Scenario
from scsim.scenario.pairing import world_differences


@dataclass
class Member:
    citizen: int
    group: str
    income: str
    region: str
    age: str
    household: int
    """Index of the household inside its neighbourhood."""
    propensity: str
    scheme: str = "national"
    """The scheme scoring the citizen: 'national' or a pilot's name."""


@dataclass
class CitizenTrace:
    """One citizen's own daily tallies, under the run and (if paired) the counterfactual."""

    scenario: Scenario
    counterfactual: Scenario | None
    me: Member
    household: list[Member]
    """The other members of the citizen's household."""
    flows: np.ndarray
    """(T+1, flow columns) this citizen's events per day."""
    levels: np.ndarray
    """(T+1, level columns) this citizen's state at the end of each day."""
    counterfactual_flows: np.ndarray | None
    counterfactual_levels: np.ndarray | None
    ledger: np.ndarray
    """(quantities,) this citizen's ledger values (columns of ``kernel_layout``)."""
    kernel_layout: KernelLayout


def _members(s: Scenario, key: np.uint64, unit_first: int, size: int, tables) -> list[Member]:
    traits = neighbourhood_members(key, np.int64(unit_first), np.int64(size), tables)
    pop = s.population
    return [
        Member(unit_first + m, pop.groups[traits[m, 0]].name,
               pop.income_levels[traits[m, 1]].name, pop.regions[traits[m, 2]].name,
               AGE_BANDS[traits[m, 3]], int(traits[m, 4]),
               pop.propensity_levels[traits[m, 5]].name, s.scheme_names()[traits[m, 6]])
        for m in range(size)
    ]


def _citizen_tallies(v: Variant, flows: np.ndarray, levels: np.ndarray, row: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The traced row's flows and levels (as ``sim._tallies``, without the histogram)."""
    changes = levels[0, :, row : row + 1].copy()
    _fill_initial_state(v, changes[0, :, LEVEL_SCORED], changes[0],
                        np.zeros((1, n_score_bins(v.tables)), dtype=np.int64))
    return flows[0, :, row].copy(), np.cumsum(changes[:, 0], axis=0)


class Tracer:
    """Traces citizens of one run; the tables are compiled once for all of them."""

    def __init__(self, scenario: Scenario, counterfactual: Scenario | None = None,
                 first_id: int = 0, kernel: str = "auto"):
        if counterfactual is not None and (
            problems := world_differences(scenario, counterfactual)
        ):
            raise ValueError("; ".join(f"counterfactual {field}: {why}"
                                       for field, why in problems))
        self.scenario = scenario
        self.counterfactual = counterfactual
        self.first_id = first_id
        deepest = max(penalty_levels(scenario),
                      penalty_levels(counterfactual) if counterfactual is not None else 0)
        self.tables = compile_tables(scenario, deepest)
        self.tables_cf = (compile_tables(counterfactual, deepest) if counterfactual is not None
                          else self.tables)
        self.key = np.uint64(seed_key(scenario.run.seed))
        # the kernel the run itself would take (``kernel`` resolved at the run's size), so
        # that tracing a run's citizens compiles nothing more
        self.plan = plan = plan_kernel(scenario, counterfactual, kernel)
        self.tables = plan.tables(self.tables)
        self.tables_cf = plan.tables(self.tables_cf)
        self.mechanisms = plan.reported
        self.kernel = plan.module
        self.layout = plan.reported_layout
        self.params = plan.parameters(scenario, self.tables)
        self.params_cf = (plan.parameters(counterfactual, self.tables_cf)
                          if counterfactual is not None else self.params)
        self.reported_params = plan.reported_parameters(scenario, self.tables, self.params)
        self.reported_params_cf = (
            plan.reported_parameters(counterfactual, self.tables_cf, self.params_cf)
            if counterfactual is not None else self.reported_params)

    def trace(self, citizen: int) -> CitizenTrace:
        """Re-simulate the neighbourhood of ``citizen`` (an id of the run); return their story."""
        scenario, counterfactual, tables, tables_cf = (
            self.scenario, self.counterfactual, self.tables, self.tables_cf)
        n = scenario.population.size
        first_id = self.first_id
        if not first_id <= citizen < first_id + n:
            raise ValueError(f"citizen {citizen} is not in this run (ids {first_id} to "
                             f"{first_id + n - 1})")
        unit = tables.unit_size
        unit_first = first_id + (citizen - first_id) // unit * unit
        size = min(unit, first_id + n - unit_first)
        groups = len(scenario.population.groups)
        # one extra group row, where the kernel tallies the traced citizen
        kernel_layout = self.plan.layout
        flows, levels, hist = _buffers(scenario, tables, kernel_layout, 1, extra_groups=1)
        paired = counterfactual is not None
        if paired:
            flows_cf, levels_cf, hist_cf = _buffers(counterfactual, tables_cf, kernel_layout, 1,
                                                    extra_groups=1)
        else:
            flows_cf = levels_cf = hist_cf = np.zeros((1, 1, 1, 1), dtype=np.int64)
        ledger = ledger_buffer(1, groups + 1, kernel_layout, tables)
        examples = example_buffer(1, kernel_layout)
        self.kernel.simulate_worker(
            np.int64(unit_first), np.int64(size), np.int64(0), np.int64(1), self.key,
            np.int64(scenario.run.days), tables, tables_cf, self.params, self.params_cf,
            paired, flows[0], levels[0], hist[0], flows_cf[0], levels_cf[0], hist_cf[0], ledger[0],
            examples[0],
            np.empty(size, dtype=np.int16), np.empty(size, dtype=np.uint8), np.int64(citizen),
        )
        if self.plan.kind == "universal":
            flows, levels, flows_cf, levels_cf, ledger, examples = _reported_columns(
                self.plan, scenario, counterfactual, flows, levels, flows_cf, levels_cf,
                ledger, examples)
        run = _citizen_tallies(Variant(tables, self.reported_params, self.mechanisms,
                                       self.layout), flows, levels, groups)
        cf = (_citizen_tallies(Variant(tables_cf, self.reported_params_cf, self.mechanisms,
                                       self.layout), flows_cf, levels_cf, groups)
              if paired else None)
        members = _members(scenario, self.key, unit_first, size, tables)
        me = members[citizen - unit_first]
        return CitizenTrace(
            scenario=scenario,
            counterfactual=counterfactual,
            me=me,
            household=[m for m in members if m.household == me.household and m is not me],
            flows=run[0],
            levels=run[1],
            counterfactual_flows=None if cf is None else cf[0],
            counterfactual_levels=None if cf is None else cf[1],
            ledger=ledger[0, :, :len(self.layout.quantities), LEDGER_SUM].reshape(
                -1, groups + 1, len(self.layout.quantities))[:, groups].sum(axis=0),
            kernel_layout=self.layout,
        )

