"""A screening with refits (``scsim screen --refit``): do the headlines move while the
calibration holds?

A plain screening moves each assumption across its range with every other
value as the scenario has it, so the fitted values stay where they were fitted
under the scenario's own assumptions.  An assumption may then move a headline
only because the model no longer reproduces its published figures.  With
refits, each point of the screening is first refitted: its fitted values
(``[calibration.fit]``) are chosen again, at that point's assumptions, to bring
the fitted targets back, and the point runs again with them.  Morris indices of
both screenings, side by side, tell the two kinds of assumption apart.

A refit is a point estimate, not a posterior: Nelder-Mead (scipy) on the fit's
own distance (``scsim.experiments.fit``: log ratios weighed by each target's
error and sample noise), in the priors' coordinates (log10 for a log-uniform
prior) scaled to the unit cube, from the scenario's values, within a budget of
simulations.  Every simulation of a refit shares the screening's root seed
(common random numbers), so the distance is a deterministic function of the
values and the refit is reproducible.  A point whose best distance stays above
twice what a perfect model would keep (2 sqrt(targets)) is said not to hold: it
still runs with its best values, and ``refits.parquet`` says which points they
are.

The screening's folder holds the plain screening as usual, ``refits/point=P.json``
(each point's refit, kept by --resume), ``refits.parquet`` and ``refitted/``:
the screening again at the refitted values, a sweep folder of its own.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from scsim.experiments.fit import FitPlan
    from scsim.experiments.sweep import SweepSpec

REFITS = "refits"
REFITTED = "refitted"
INITIAL_STEP = 0.15
"""The starting simplex's step along each value, as a share of its prior's range."""
BROKEN = 1e9
"""The distance of values that break a rule of the scenario (Nelder-Mead needs a number)."""


def hold_threshold(targets: int) -> float:
    """The distance under which a refit is said to hold the targets: twice the root of
    their count (a perfect model's distance is about sqrt(targets))."""
    return 2.0 * math.sqrt(targets)


def point_plan(base: FitPlan, scenario: Any, sha256: str) -> FitPlan:
    """The fit's plan at one point of the screening (its scenario, the base's targets,
    priors and weights)."""
    return dataclasses.replace(base, scenario=scenario.model_dump(mode="json", by_alias=True),
                               sha256=sha256)


def _unit(plan: FitPlan, u: np.ndarray) -> dict[str, float]:
    """pyabc's parameters (p0, p1, ...) at a point of the unit cube."""
    return {f"p{i}": lo + float(np.clip(x, 0.0, 1.0)) * (hi - lo)
            for i, (x, (lo, hi)) in enumerate(zip(u, (p.bounds() for p in plan.priors),
                                                  strict=True))}


def _start(plan: FitPlan) -> np.ndarray:
    """The scenario's own fitted values, in the unit cube."""
    from scsim.experiments.posterior import get_at

    start = []
    for p in plan.priors:
        value = float(get_at(plan.scenario, p.path))
        x = math.log10(value) if p.shape == "log-uniform" and value > 0 else value
        lo, hi = p.bounds()
        start.append(min(max((x - lo) / (hi - lo), 0.0), 1.0))
    return np.array(start)


def refit(plan: FitPlan, budget: int) -> dict[str, Any]:
    """The point's best fitted values within ``budget`` simulations, and its distance before
    and after."""
    from scipy.optimize import minimize

    from scsim.experiments.fit import TargetModel, WeightedLogDistance, observed

    model, distance, data = TargetModel(plan), WeightedLogDistance(plan), observed(plan)

    def objective(u: np.ndarray) -> float:
        d = distance(model(_unit(plan, u)), data)
        return d if math.isfinite(d) else BROKEN

    u0 = _start(plan)
    before = objective(u0)
    # the first simplex steps inwards, so that no vertex leaves the priors' ranges
    simplex = [u0] + [u0 + np.where(np.arange(len(u0)) == i,
                                    INITIAL_STEP if u0[i] <= 0.5 else -INITIAL_STEP, 0.0)
                      for i in range(len(u0))]
    result = minimize(objective, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(u0),
                      options={"maxfev": max(budget - 1, len(u0) + 1),
                               "initial_simplex": np.array(simplex),
                               "xatol": 1e-3, "fatol": 1e-3})
    best = result.x if result.fun <= before else u0
    after = min(float(result.fun), before)
    values = model.values(_unit(plan, best))
    return {"distance_before": before, "distance_after": after,
            "simulations": int(result.nfev) + 1, "held": after <= hold_threshold(
                len(plan.targets)), "values": values}


def _refit_file(out: Path, point: int) -> Path:
    return out / REFITS / f"point={point}.json"


def _stored(out: Path, point: int, sha256: str, budget: int) -> dict[str, Any] | None:
    """A refit a resumed screening may keep: of this point's scenario, within this budget."""
    try:
        stored = json.loads(_refit_file(out, point).read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(stored, dict) or stored.get("point_sha256") != sha256
            or stored.get("budget") != budget):
        return None
    return stored


def _refit_task(plan: FitPlan, budget: int, point: int, out: str) -> dict[str, Any]:
    """One point's refit on a worker, written to its file (atomically) when done."""
    from scsim.io.run_dir import write_text_atomically

    result = refit(plan, budget) | {"point": point, "point_sha256": plan.sha256,
                                    "budget": budget}
    write_text_atomically(_refit_file(Path(out), point), json.dumps(result, indent=2) + "\n",
                          replace=True)
    return result


def run_refits(spec: SweepSpec, base: FitPlan, budget: int, client: Any,
               progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Every point's refit (those stored already kept), on the cluster; refits.parquet."""
    from distributed import as_completed

    from scsim.io.run_dir import write_parquet_atomically

    (spec.out / REFITS).mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, Any]] = {}
    todo = []
    for p, loaded in enumerate(spec.loaded):
        stored = _stored(spec.out, p, loaded.sha256, budget)
        if stored is not None:
            results[p] = stored
        else:
            todo.append(p)
    if progress is not None:
        progress(len(results), len(spec.loaded))
    futures = [client.submit(_refit_task, point_plan(base, spec.loaded[p].scenario,
                                                     spec.loaded[p].sha256),
                             budget, p, str(spec.out), pure=False) for p in todo]
    for future in as_completed(futures):
        result = future.result()
        results[result["point"]] = result
        if progress is not None:
            progress(len(results), len(spec.loaded))
    ordered = [results[p] for p in range(len(spec.loaded))]
    rows: dict[str, list] = {"point": [], "distance_before": [], "distance_after": [],
                             "held": [], "simulations": []}
    for p in base.priors:
        rows[p.path] = []
    for r in ordered:
        for key in ("point", "distance_before", "distance_after", "held", "simulations"):
            rows[key].append(r[key])
        for p in base.priors:
            rows[p.path].append(r["values"][p.path])
    write_parquet_atomically(pa.table(rows), spec.out / "refits.parquet", replace=True)
    return ordered


def refitted_spec(spec: SweepSpec, refits: list[dict[str, Any]]) -> SweepSpec:
    """The screening again, each point at its refitted values, in ``OUT/refitted``."""
    from scsim.experiments.posterior import with_values

    loaded, pairings = [], []
    for p, (base, pairing, fitted) in enumerate(zip(spec.loaded, spec.pairings, refits,
                                                     strict=True)):
        again, paired = with_values(base, pairing, fitted["values"],
                                    f"{base.source} (point {p}, refitted)")
        loaded.append(again)
        pairings.append(paired)
    return dataclasses.replace(
        spec, out=spec.out / REFITTED, loaded=loaded, pairings=pairings,
        points=[point | fitted["values"] for point, fitted in zip(spec.points, refits,
                                                                   strict=True)])


COMPARISON_SCHEMA = pa.schema([
    ("quantity", pa.string()), ("parameter", pa.string()), ("mu_star", pa.float64()),
    ("mu_star_conf", pa.float64()), ("mu_star_refitted", pa.float64()),
    ("mu_star_conf_refitted", pa.float64()), ("verdict", pa.string()),
])
WHILE_HELD = "moves it while the targets hold"
MOSTLY_BY_BREAKING = "moves it mostly by breaking the calibration"
NOT_TOLD = "not told from noise"
SURVIVES = 0.5
"""The share of an assumption's effect that must survive refitting for it to count as moving
the quantity while the targets hold."""


def verdict(mu: float, conf: float, mu_refitted: float, conf_refitted: float) -> str:
    """What the two screenings say of one assumption and one quantity.  An effect is one
    whose mu* has a 95% interval clear of 0; it is the assumption's own where at least half
    of it survives refitting, and mostly the calibration's breaking where less does (a refit
    holds the targets only to their errors, so a small remainder is expected)."""
    plain, refitted = mu - conf > 0, mu_refitted - conf_refitted > 0
    if refitted and (not plain or mu_refitted >= SURVIVES * mu):
        return WHILE_HELD
    if plain:
        return MOSTLY_BY_BREAKING
    return NOT_TOLD


def compare_screens(plain: pa.Table, refitted: pa.Table, out: Path) -> pa.Table:
    """Each assumption's mu* in both screenings, with the verdict; screen-refit.parquet."""
    from scsim.io.run_dir import write_parquet_atomically

    again = {(r["quantity"], r["parameter"]): r for r in refitted.to_pylist()}
    rows: dict[str, list] = {f.name: [] for f in COMPARISON_SCHEMA}
    for r in plain.to_pylist():
        other = again.get((r["quantity"], r["parameter"]))
        if other is None:
            continue
        for column, value in (
                ("quantity", r["quantity"]), ("parameter", r["parameter"]),
                ("mu_star", r["mu_star"]), ("mu_star_conf", r["mu_star_conf"]),
                ("mu_star_refitted", other["mu_star"]),
                ("mu_star_conf_refitted", other["mu_star_conf"]),
                ("verdict", verdict(r["mu_star"], r["mu_star_conf"], other["mu_star"],
                                    other["mu_star_conf"]))):
            rows[column].append(value)
    table = pa.table(rows, schema=COMPARISON_SCHEMA)
    write_parquet_atomically(table, out / "screen-refit.parquet", replace=True)
    return table
