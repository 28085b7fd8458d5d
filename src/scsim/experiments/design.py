"""Experiment designs: which parameter values a sweep runs.

A varied parameter is a dotted path with a range (``low:high``) or a list of
values. Designs come from the libraries, never written by hand: Latin
hypercube from ``scipy.stats.qmc``, Sobol (Saltelli) and Morris from SALib;
a grid is the product of evenly spaced values. A list of values in a
sampled design is taken as categories: the unit interval is cut into equal
parts, one per value.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from scsim.errors import ScsimError

DESIGNS = ("grid", "lhs", "sobol", "morris")
MORRIS_LEVELS = 4
MAX_SAMPLES = 100_000
MAX_VARIED = 1_000
"""Parameters one design may vary."""
MAX_POINTS = 100_000
"""Points of one design (a grid's is the product of its axes)."""
MAX_REPLICATES = 10_000
MAX_RUNS = 1_000_000
"""Runs of one experiment (points x replicates)."""


class DesignError(ScsimError):
    """A design that cannot be built; one line says why."""


@dataclass(frozen=True)
class Vary:
    path: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None
    integer: bool = False
    """The field holds integers: sampled values are rounded."""

    @property
    def is_range(self) -> bool:
        return self.values is None

    def describe(self) -> str:
        return (f"{self.path}={self.low}:{self.high}" if self.is_range
                else f"{self.path}={','.join(map(str, self.values))}")


def parse_vary(text: str) -> Vary:
    """``PATH=LO:HI`` (a range) or ``PATH=v1,v2,...`` (values, in TOML syntax each)."""
    import tomllib

    path, sep, spec = text.partition("=")
    path = path.strip()
    if not sep or not path or not spec.strip():
        raise DesignError(f"--vary {text!r}: expected PATH=LO:HI or PATH=v1,v2,...")
    if ":" in spec and "," not in spec and not spec.strip().startswith(("[", "{", '"', "'")):
        low, _, high = spec.partition(":")
        try:
            lo, hi = float(low), float(high)
        except ValueError:
            raise DesignError(f"--vary {text!r}: {spec!r} is not LO:HI with two numbers") \
                from None
        return make_range(path, lo, hi, text)
    values = []
    for item in spec.split(","):
        try:
            values.append(tomllib.loads(f"v = {item.strip()}")["v"])
        except tomllib.TOMLDecodeError:
            raise DesignError(f"--vary {text!r}: {item.strip()!r} is not a TOML value") from None
    if len(values) < 2:
        raise DesignError(f"--vary {text!r}: give at least two values, or a range LO:HI")
    return Vary(path, values=tuple(values))


def make_range(path: str, low: float, high: float, where: str) -> Vary:
    if not (np.isfinite(low) and np.isfinite(high)) or not low < high:
        raise DesignError(f"--vary {where!r}: need LO < HI, finite, got {low} and {high}")
    return Vary(path, low, high)


def problem(varies: list[Vary]) -> dict[str, Any]:
    """SALib's problem: names and bounds (categories get [0, 1))."""
    return {"num_vars": len(varies), "names": [v.path for v in varies],
            "bounds": [[v.low, v.high] if v.is_range else [0.0, 1.0] for v in varies]}


def _unit_points(varies: list[Vary], design: str, samples: int, seed: int) -> np.ndarray:
    """Points in the design's own coordinates (ranges in their units, categories in [0, 1))."""
    d = len(varies)
    if design == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(samples)
        lows = np.array(problem(varies)["bounds"])[:, 0]
        highs = np.array(problem(varies)["bounds"])[:, 1]
        return qmc.scale(unit, lows, highs)
    if design == "sobol":
        from SALib.sample import sobol

        if samples & (samples - 1):
            raise DesignError(f"--samples: Sobol designs need a power of two, got {samples}")
        return sobol.sample(problem(varies), samples, calc_second_order=False, seed=seed)
    if design == "morris":
        from SALib.sample import morris

        return morris.sample(problem(varies), samples, num_levels=MORRIS_LEVELS, seed=seed)
    raise DesignError(f"--design: unknown design {design!r} (known: {', '.join(DESIGNS)})")


def _value(v: Vary, x: float) -> Any:
    if not v.is_range:
        return v.values[min(int(x * len(v.values)), len(v.values) - 1)]
    return int(np.rint(x)) if v.integer else float(x)


def build(varies: list[Vary], design: str, samples: int, seed: int) -> tuple[list[dict], Any]:
    """The points (one dict of path -> value each) and the raw design matrix (for SALib)."""
    if design not in DESIGNS:
        raise DesignError(f"--design: unknown design {design!r} (known: {', '.join(DESIGNS)})")
    if not varies:
        raise DesignError("--vary: give at least one parameter to vary")
    if samples < 1:
        raise DesignError(f"--samples: must be at least 1, got {samples}")
    paths = [v.path for v in varies]
    if len(set(paths)) != len(paths):
        raise DesignError(f"--vary: a path is varied twice ({', '.join(paths)})")
    if design == "grid":
        axes = [v.values if not v.is_range else
                [_value(v, x) for x in np.linspace(v.low, v.high, samples)] for v in varies]
        points = [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*axes)]
        return points, None
    matrix = _unit_points(varies, design, samples, seed)
    points = [{v.path: _value(v, x) for v, x in zip(varies, row, strict=True)}
              for row in matrix]
    return points, matrix


def expected_points(design: str, samples: int, varies: list[Vary]) -> int:
    """How many points a design has: grid the product, LHS N, Sobol N (D + 2), Morris
    N (D + 1) (exact integers, however large)."""
    import math

    d = len(varies)
    if design == "grid":
        return math.prod(len(v.values) if not v.is_range else samples for v in varies)
    return {"lhs": samples, "sobol": samples * (d + 2), "morris": samples * (d + 1)}[design]


def expected_design_size(design: str, samples: int, varies: list[Vary], replicates: int
                         ) -> int:
    """The design's points, checked against the limits before anything is built: a mistyped
    --samples or a grid of many axes must not exhaust memory."""
    if design not in DESIGNS:
        raise DesignError(f"--design: unknown design {design!r} (known: {', '.join(DESIGNS)})")
    if not 1 <= samples <= MAX_SAMPLES:
        raise DesignError(f"--samples: must be between 1 and {MAX_SAMPLES:,}, got {samples:,}")
    if not 1 <= replicates <= MAX_REPLICATES:
        raise DesignError(f"--replicates: must be between 1 and {MAX_REPLICATES:,}, got "
                          f"{replicates:,}")
    if len(varies) > MAX_VARIED:
        raise DesignError(f"--vary: {len(varies):,} parameters; at most {MAX_VARIED:,}")
    points = expected_points(design, samples, varies)
    if points > MAX_POINTS:
        raise DesignError(f"the {design} design has {points:,} points; at most {MAX_POINTS:,} "
                          "(fewer --samples, values or parameters)")
    if points * replicates > MAX_RUNS:
        raise DesignError(f"{points:,} points x {replicates:,} replicates = "
                          f"{points * replicates:,} runs; at most {MAX_RUNS:,}")
    return points
