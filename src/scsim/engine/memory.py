"""Memory accounting: bytes per citizen, the fixed tallies, and the guard.

The citizen frame holds only the end-of-run state (score and false-record
count); traits are re-derived from the seed and the id whenever needed, and
everything else lives in registers while a citizen is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psutil

from scsim.kernels.layout import FlowLayout, KernelLayout
from scsim.mechanisms import in_kernel
from scsim.scenario.model import Scenario

# One row per stored per-citizen column: name, dtype, why it is kept.
CITIZEN_COLUMNS: tuple[tuple[str, np.dtype, str], ...] = (
    ("score", np.dtype(np.int16), "score at the end of the run"),
    ("false_records", np.dtype(np.uint8), "false records received (saturates at 255)"),
)
DERIVED_TRAITS = (
    "group, income level, region: drawn from hash(seed, citizen id) when needed, never stored",
)
# Fraction of available memory a run may plan to use; the rest is for Python,
# numba, pyarrow and the operating system.
USABLE_FRACTION = 0.85
FIXED_OVERHEAD = 400 * 2**20  # interpreter, numba, pyarrow, compiled kernels


def bytes_per_citizen() -> int:
    return sum(dtype.itemsize for _, dtype, _ in CITIZEN_COLUMNS)


@dataclass(frozen=True)
class MemoryEstimate:
    citizens: int
    per_citizen_bytes: int
    tally_bytes: int
    """Per-worker daily buffers, their totals, and the output tables."""

    @property
    def total(self) -> int:
        return self.citizens * self.per_citizen_bytes + self.tally_bytes + FIXED_OVERHEAD


def _tally_bytes(s: Scenario, copies: int, layout: KernelLayout) -> int:
    days = s.run.days + 1
    groups = len(s.population.groups)
    low, high = s.score_range()
    bins = (high - low) // s.output.score_bin_width + 1
    columns = (FlowLayout.of(s, layout).width
               + layout.n_levels(len(s.all_grades())) + bins)
    return copies * days * groups * columns * 8


def estimate_memory(s: Scenario, n_workers: int, counterfactual: Scenario | None = None
                    ) -> MemoryEstimate:
    """Planned memory of a run (paired with ``counterfactual`` if given)."""
    # worker buffers + summed totals + a few temporaries while building tables
    layout = KernelLayout.of(in_kernel(s, counterfactual))
    tally = _tally_bytes(s, n_workers + 4, layout)
    if counterfactual is not None:
        # the counterfactual's own buffers and totals, and each worker's scratch
        # buffers for the run without false records (shaped like the run's)
        tally += (_tally_bytes(counterfactual, n_workers + 4, layout)
                  + _tally_bytes(s, n_workers, layout))
    return MemoryEstimate(s.population.size, bytes_per_citizen(), tally)


def available_memory() -> int:
    return int(psutil.virtual_memory().available)


def largest_population(s: Scenario, n_workers: int, budget: int,
                       counterfactual: Scenario | None = None) -> int:
    fixed = estimate_memory(s, n_workers, counterfactual).tally_bytes + FIXED_OVERHEAD
    return max(0, (budget - fixed) // bytes_per_citizen())


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError("unreachable")


def memory_problem(s: Scenario, n_workers: int, available: int | None = None,
                   counterfactual: Scenario | None = None) -> str | None:
    """A message if the scenario (paired with ``counterfactual``) would not fit, else None."""
    available = available_memory() if available is None else available
    budget = int(available * USABLE_FRACTION)
    need = estimate_memory(s, n_workers, counterfactual).total
    if need <= budget:
        return None
    fits = largest_population(s, n_workers, budget, counterfactual)
    return (
        f"{s.population.size:,} citizens over {s.run.days} days need about "
        f"{format_bytes(need)} ({bytes_per_citizen()} bytes per citizen plus "
        f"{format_bytes(need - s.population.size * bytes_per_citizen())} of tallies and "
        f"overhead), but only {format_bytes(budget)} of the {format_bytes(available)} "
        f"available may be used; the largest population that fits is about {fits:,}"
    )
