"""Which assumptions drive a headline figure: a Morris screening of every ASSUMPTION.

The scenario's ``[sources]`` table lists each value that rests on no public
figure with its plausible range.  A screening is a Morris sweep over all of
them at once, within those ranges (paired with the same world without the
system by default, so that wrongful listing, lost speech and prevented
offences are measured), followed by Morris indices for each headline
quantity: mu* (the mean absolute effect of moving the assumption across its
range, in the quantity's units) with its 95% interval, and sigma (how much
that effect depends on the other assumptions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from scsim.experiments.design import Vary
from scsim.experiments.ensemble import HEADLINE
from scsim.experiments.sweep import SweepError, SweepSpec
from scsim.scenario.load import ScenarioError, load_scenario


def screening_spec(scenario_file: Path, fixed: dict[str, Any], samples: int, replicates: int,
                   seed: int, counterfactual: str | None, out: Path,
                   refitted: bool = False) -> SweepSpec:
    """A Morris sweep over every assumption of the scenario, within its plausible range;
    ``refitted``: the values the fit chooses are left out (each point refits them)."""
    try:
        base = load_scenario(scenario_file, fixed)
    except ScenarioError as exc:
        raise SweepError(exc.lines()[0]) from None
    fitted = set(base.scenario.calibration.fit) if (
        refitted and base.scenario.calibration is not None) else set()
    varies = [Vary(path, source.low, source.high)
              for path, source in base.scenario.sources.items()
              if source.assumption and path not in fitted]
    if not varies:
        raise SweepError(f"{scenario_file}: sources: no value is marked as an assumption (with "
                         "assumption = true, low, high)"
                         + (" besides the fitted values" if fitted else "")
                         + ", so there is nothing to screen")
    return SweepSpec(scenario_file, fixed, varies, "morris", samples, replicates, seed,
                     counterfactual, out, kind="screen")


SCREEN_SCHEMA = pa.schema([
    ("quantity", pa.string()), ("rank", pa.int64()), ("parameter", pa.string()),
    ("mu_star", pa.float64()), ("mu_star_conf", pa.float64()), ("sigma", pa.float64()),
    ("output_mean", pa.float64()),
])


def fitted_paths(scenario_file: Path, fixed: dict[str, Any]) -> list[str]:
    """The values [calibration.fit] names (empty if none)."""
    base = load_scenario(scenario_file, fixed)
    c = base.scenario.calibration
    return [] if c is None else list(c.fit)


def rank_assumptions(out: Path) -> pa.Table:
    """Morris indices of every measured headline quantity, assumptions ranked by mu*."""
    from scsim.experiments.sensitivity import AnalysisError, analyze
    from scsim.io.run_dir import write_parquet_atomically

    rows: dict[str, list] = {f.name: [] for f in SCREEN_SCHEMA}
    for quantity in HEADLINE:
        try:
            table, about = analyze(out, quantity)
        except AnalysisError:
            continue  # not measured in this screening
        ranked = sorted(table.to_pylist(), key=lambda r: -r["mu_star"])
        for k, row in enumerate(ranked, 1):
            for column, value in (("quantity", quantity), ("rank", k),
                                  ("parameter", row["parameter"]), ("mu_star", row["mu_star"]),
                                  ("mu_star_conf", row["mu_star_conf"]),
                                  ("sigma", row["sigma"]),
                                  ("output_mean", about["output_mean"])):
                rows[column].append(value)
    table = pa.table(rows, schema=SCREEN_SCHEMA)
    write_parquet_atomically(table, out / "screen.parquet", replace=True)
    return table
