"""Which kernel runs a run: the universal one, compiled once for every scenario, or the one
specialised for the scenario's mechanisms and kind, faster but compiled for each new shape.

Both give the same results, bit for bit (``tests/test_universal_kernel.py``): the choice is
one of time only.  ``auto`` takes the universal kernel below ``UNIVERSAL_BELOW`` citizens,
where a specialised kernel's compile would take longer than the run itself
(``docs/performance.md``, "Which kernel").
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Literal

import numpy as np

from scsim.engine import KERNEL_CHOICES, UNIVERSAL_BELOW
from scsim.engine.tables import KernelTables
from scsim.kernels.generate import UNIVERSAL_KIND, is_lean, kernel_for
from scsim.kernels.layout import KernelLayout
from scsim.mechanisms import MECHANISMS, Mechanism, in_kernel
from scsim.scenario.model import Scenario
from scsim.scenario.schedule import has_schedule, periods


def kernel_kind(scenario: Scenario, counterfactual: Scenario | None = None) -> dict[str, bool]:
    """The kind of specialised kernel a run of ``scenario`` (paired with ``counterfactual``)
    compiles to, as ``kernel_for``'s keywords: one place, so that a run, ``scsim trace`` and
    the warm-up cannot disagree on which kernel that is."""
    return {"scheduled": has_schedule(scenario, counterfactual),
            "turnover": scenario.population.turnover is not None,
            "pilots": bool(scenario.pilots),
            "single": scenario.population.households is None}


def resolve(choice: str, scenario: Scenario) -> Literal["universal", "specialised"]:
    """``auto`` made definite for a run of ``scenario``."""
    if choice not in KERNEL_CHOICES:
        raise ValueError(f"kernel must be one of {', '.join(KERNEL_CHOICES)}, not {choice!r}")
    if choice == "auto":
        return "universal" if scenario.population.size < UNIVERSAL_BELOW else "specialised"
    return choice  # type: ignore[return-value]


@dataclass(frozen=True)
class KernelPlan:
    """The kernel a run calls, with what it is called with, and the columns the run reports."""

    kind: Literal["universal", "specialised"]
    module: ModuleType
    mechanisms: tuple[Mechanism, ...]
    """The mechanisms compiled into the kernel (every one, for the universal kernel)."""
    layout: KernelLayout
    """The kernel's columns (its buffers are this wide)."""
    reported: tuple[Mechanism, ...]
    """The mechanisms the run uses: those either side of the pair has."""
    reported_layout: KernelLayout
    """The columns of the run's results: the specialised kernel's, whichever ran."""
    kind_flags: dict[str, bool]

    @property
    def scheduled(self) -> bool:
        """Whether the kernel's parameters carry a period axis (``parameters``):
        always in the universal kernel, which holds the code for schedules."""
        return self.kind == "universal" or self.kind_flags["scheduled"]

    def tables(self, tables: KernelTables) -> KernelTables:
        """The tables with the kind the kernel reads at run time (the run's, for both
        sides of a pair)."""
        return tables._replace(turnover=self.kind_flags["turnover"],
                               pilots=self.kind_flags["pilots"], lean=self.lean)

    @property
    def lean(self) -> bool:
        """Whether an unpaired run takes ``simulate_singles`` (``is_lean``): in the
        specialised kernel a constant, in the universal one read from the tables."""
        kind = self.kind_flags
        return kind.get("lean", True) and is_lean(
            self.reported, kind["scheduled"], kind["turnover"], kind["pilots"], kind["single"])

    def parameters(self, scenario: Scenario, tables: KernelTables) -> tuple:
        """The kernel's parameter tuple for one side of the pair."""
        return parameters(self.mechanisms, scenario, tables, self.scheduled)

    def reported_parameters(self, scenario: Scenario, tables: KernelTables,
                            kernel_parameters: tuple) -> tuple:
        """The parameters of the run's own mechanisms, as the specialised kernel takes them
        (for what is computed after the kernel: the levels of day 0); for the specialised
        kernel, those it was given."""
        if self.kind == "specialised":
            return kernel_parameters
        return parameters(self.reported, scenario, tables, self.kind_flags["scheduled"])

    def columns(self) -> dict[str, np.ndarray]:
        """Where each reported column is in the kernel's buffers: per kind of buffer, the
        kernel's column of each of the run's (the named ones, then those after them)."""
        return _columns(self.layout, self.reported_layout)


def _columns(kernel: KernelLayout, run: KernelLayout) -> dict[str, np.ndarray]:
    def names(kind: str) -> np.ndarray:
        theirs = getattr(kernel, kind)
        return np.array([theirs.index(name) for name in getattr(run, kind)], dtype=np.intp)

    return {kind: names(kind) for kind in ("flows", "levels", "quantities")}


def plan_kernel(scenario: Scenario, counterfactual: Scenario | None = None,
                kernel: str = "auto") -> KernelPlan:
    """The kernel (compiled or loaded from the cache) for a run of ``scenario``, paired with
    ``counterfactual``."""
    kind = resolve(kernel, scenario)
    flags = kernel_kind(scenario, counterfactual)
    reported = in_kernel(scenario, counterfactual)
    reported_layout = KernelLayout.of(reported)
    if kind == "universal":
        mechanisms = MECHANISMS
        module = kernel_for(mechanisms, **UNIVERSAL_KIND)
    else:
        mechanisms = reported
        module = kernel_for(mechanisms, **flags)
    return KernelPlan(kind, module, mechanisms, KernelLayout.of(mechanisms), reported,
                      reported_layout, flags)


def parameters(mechanisms: tuple[Mechanism, ...], s: Scenario, tables,
               scheduled: bool = False) -> tuple:
    """The kernel's parameter tuple for one scenario of the pair (``P`` in hooks).

    For a kernel with a schedule (``scheduled``), a mechanism's ``per_period``
    fields are stacked over the periods of the schedule (each period's values
    from its own scenario), so that a hook reads the value in force as
    ``P.x[k]``; in a kernel without one they are the values themselves (the
    generator drops the period index), so a run without a schedule pays nothing; its
    ``any_period`` switches are on where any period's are.
    """
    scenarios: list[Scenario] | None = None
    result = []
    for m in mechanisms:
        if not (m.per_period or m.any_period) or not scheduled:
            result.append(m.params(s, tables))
            continue
        if scenarios is None:
            scenarios = [p.scenario for p in periods(s)] if has_schedule(s) else [s]
        each = [m.params(scenario, tables) for scenario in scenarios]
        result.append(m.params(s, tables)._replace(
            **{name: np.stack([np.asarray(getattr(p, name)) for p in each])
               for name in m.per_period},
            **{name: any(bool(getattr(p, name)) for p in each) for name in m.any_period}))
    return tuple(result)


__all__ = ["KERNEL_CHOICES", "UNIVERSAL_BELOW", "KernelPlan",
           "kernel_kind", "parameters", "plan_kernel", "resolve"]
