"""Sensitivity indices of a sweep's output, with SALib.

The output of a point is the mean over its replicates of a ledger total
(over everyone, or one group's), which averages seed noise away before the
indices are computed (all points share the replicate seeds). A Sobol design
gives first-order and total indices (second order is off, as in sampling);
a Morris design gives mu* and sigma; each with its 95% confidence interval
(SALib's bootstrap). The share of the output's variance that is seed noise
(the mean variance between replicates of one point over the variance of all
runs) says how far the indices can be trusted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from scsim.errors import ScsimError
from scsim.experiments.design import MORRIS_LEVELS
from scsim.ledger import known_quantities

CONSTANT_OUTPUT_NOTE = ("The output is the same at every point of the design: no varied "
                        "parameter moves it over these ranges (its indices, shares of a "
                        "variance of zero, are shown as 0).")


class AnalysisError(ScsimError):
    """A sweep that cannot be analysed as asked; one line says why."""


def _checked_table(path: Path, columns: list[str]) -> pa.Table:
    """The columns of a sweep's Parquet file, each a number without nulls; AnalysisError
    naming the file if it is missing, damaged or lacks them."""
    from scsim.io.stored_run import RunFolderError, read_parquet

    try:
        table = read_parquet(path)
    except RunFolderError as exc:
        raise AnalysisError(str(exc)) from None
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise AnalysisError(f"{path}: corrupt: no column {missing[0]!r}")
    table = table.select(columns)
    for name in columns:
        column = table.column(name)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise AnalysisError(f"{path}: corrupt: column {name!r} is {column.type}, not a "
                                "number")
        if column.null_count and name in ("point", "replicate"):
            raise AnalysisError(f"{path}: corrupt: column {name!r} has missing values")
    return table


def _place(path: Path, values: np.ndarray, rows: list[tuple]) -> None:
    """Put each (point, replicate, value) into ``values``; a place out of range or given
    twice is a damaged file."""
    seen = np.zeros(values.shape, dtype=bool)
    for p, r, value in rows:
        if not (0 <= p < values.shape[0] and 0 <= r < values.shape[1]) or seen[p, r]:
            raise AnalysisError(f"{path}: corrupt: point {p}, replicate {r} is outside the "
                                "design or repeated")
        seen[p, r] = True
        if value is not None:
            values[p, r] = value


def _outputs(sweep: Path, quantity: str, group: str | None, points: int,
             replicates: int) -> np.ndarray:
    """(points, replicates) of the quantity's total; NaN where a run is missing."""
    values = np.full((points, replicates), np.nan)
    if group is None:
        path = sweep / "results.parquet"
        table = _checked_table(path, ["point", "replicate", quantity])
        _place(path, values, [(int(row["point"]), int(row["replicate"]), row[quantity])
                              for row in table.to_pylist()])
        return values
    from scsim.query import connect  # the registry's ledger view, one query for every run

    con = connect(sweep)
    try:
        rows = con.execute('SELECT point, replicate, value FROM ledger WHERE quantity = ? AND '
                           '"group" = ? AND value IS NOT NULL', [quantity, group]).fetchall()
    finally:
        con.close()
    _place(sweep / "ledger.parquet", values, rows)
    return values


def _salib(sweep: Path, call):
    """SALib's analysis; a design it cannot read (a sweep folder edited or damaged so that
    its points no longer form the design) is one line, not a traceback."""
    try:
        return call()
    except (ValueError, IndexError, ZeroDivisionError, TypeError) as exc:
        raise AnalysisError(f"{sweep}: the stored design is not one SALib can analyse "
                            f"({' '.join(str(exc).split())[:200]}); was the sweep folder "
                            "edited?") from None


def analyze(sweep: Path, quantity: str, group: str | None = None, seed: int = 0
            ) -> tuple[pa.Table, dict[str, Any]]:
    """The indices of ``quantity`` (one row per varied parameter) and what they rest on."""
    from SALib.analyze import morris, sobol

    from scsim.experiments.sweep import SweepError, read_manifest

    manifest_path = sweep / "sweep.json"
    if not manifest_path.is_file():
        raise AnalysisError(f"{sweep}: not a sweep folder (no sweep.json)")
    try:
        manifest = read_manifest(manifest_path)
    except SweepError as exc:
        raise AnalysisError(str(exc)) from None
    names = list(known_quantities())
    if quantity not in names:
        raise AnalysisError(f"--output: unknown quantity {quantity!r} (known: "
                            f"{', '.join(names)})")
    design = manifest["design"]
    if design not in ("sobol", "morris"):
        raise AnalysisError(f"--output: indices need a sobol or morris design; this sweep is "
                            f"{design}")
    if not (sweep / "results.parquet").is_file():
        raise AnalysisError(f"{sweep / 'results.parquet'}: missing (the sweep did not finish)")
    problem = manifest["problem"]
    points, replicates = manifest["points"], manifest["replicates"]
    values = _outputs(sweep, quantity, group, points, replicates)
    if np.isnan(values).all():
        raise AnalysisError(f"--output {quantity}: not measured in this sweep (a paired "
                            "quantity needs --counterfactual)" if group is None else
                            f"--group: no values for {group!r}")
    if np.isnan(values).any():
        raise AnalysisError(f"{sweep}: {int(np.isnan(values).sum())} runs are missing or "
                            "failed; --resume the sweep first")
    y = values.mean(axis=1)  # SALib relies on the row order: point order
    within = float(values.var(axis=1, ddof=1).mean()) if replicates > 1 else None
    total = float(values.var(ddof=1)) if values.size > 1 else 0.0
    noise = None if within is None else (within / total if total > 0 else 0.0)
    rows: dict[str, list] = {"parameter": problem["names"]}
    # The same output at every point: no parameter moves it over these ranges.  Sobol's
    # indices are shares of a variance of zero (SALib divides by it), so they are set to 0
    # and ``constant_output`` says why; Morris's effects are differences, 0 by themselves.
    constant = bool(np.ptp(y) == 0)
    if design == "sobol" and constant:
        for key in ("S1", "S1_conf", "ST", "ST_conf"):
            rows[key] = [0.0] * len(problem["names"])
    elif design == "sobol":
        result = _salib(sweep, lambda: sobol.analyze(
            problem, y, calc_second_order=False, conf_level=0.95, print_to_console=False,
            seed=seed))
        for key in ("S1", "S1_conf", "ST", "ST_conf"):
            rows[key] = [float(v) for v in np.nan_to_num(result[key], nan=0.0)]
    else:
        path = sweep / "design.parquet"
        design_matrix = _checked_table(path, ["point", *problem["names"]])
        if design_matrix.column("point").to_pylist() != list(range(points)):
            raise AnalysisError(f"{path}: corrupt: its rows are not points 0..{points - 1}")
        x = np.column_stack([np.asarray(design_matrix.column(n).to_pylist(), dtype=float)
                             for n in problem["names"]])
        if not np.isfinite(x).all():
            raise AnalysisError(f"{path}: corrupt: a value is missing or not finite")
        result = _salib(sweep, lambda: morris.analyze(
            problem, x, y, conf_level=0.95, num_levels=MORRIS_LEVELS, print_to_console=False,
            seed=seed))
        for key in ("mu_star", "mu_star_conf", "sigma"):
            rows[key] = [float(v) for v in result[key]]
    about = {"sweep": str(sweep), "output": quantity, "group": group or "all",
             "design": design, "points": points, "replicates": replicates,
             "output_mean": float(y.mean()), "output_sd": float(y.std(ddof=1)),
             "seed_noise_share": noise, "constant_output": constant,
             "confidence": 0.95}
    return pa.table(rows), about
