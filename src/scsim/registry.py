"""Every run folder is a row of a registry that SQL can query.

Each run writes, beside its other files:

* ``run.parquet``: one row with what identifies the run (folder, scenario
  name and hash, counterfactual, seed, sizes, version), the parameters an
  experiment varied (one column per dotted path), its replicate and point in
  an experiment, every ledger total, and the timings;
* ``ledger.parquet``: the ledger in long form, one row per (quantity, group),
  with ``group = 'all'`` for the whole population: value, rate, interval,
  status, what the figure is (level or paired difference), and the
  disparity ratio with its interval.

``scsim.query`` puts DuckDB views over all of them.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from scsim.ledger import known_quantities, quantities_in

ALL_GROUPS = "all"


def run_row(folder: str, summary: dict[str, Any], ledger: dict[str, Any],
            varied: dict[str, Any] | None = None, replicate: int | None = None,
            point: int | None = None) -> pa.Table:
    """The one-row registry table of a run."""
    counterfactual = summary.get("counterfactual") or {}
    row: dict[str, Any] = {
        "run": folder,
        "scenario": summary["scenario"]["name"],
        "scenario_sha256": summary["scenario_sha256"],
        "counterfactual": counterfactual.get("label"),
        "counterfactual_sha256": counterfactual.get("scenario_sha256"),
        "seed": summary["seed"],
        "population": summary["population"],
        "declared_population": summary.get("declared_population"),
        "days": summary["days"],
        "replicate": replicate,
        "point": point,
        "version": summary["version"],
        "started_at": summary["started_at"],
        "wall_time_s": summary["wall_time_s"],
        "simulate_s": summary["timings_s"].get("simulate_s"),
        "citizen_days_per_s": summary["citizen_days_per_s"],
        "peak_memory_bytes": summary["peak_memory_bytes"],
        "threads": summary["threads"],
    }
    for q in quantities_in(ledger):
        row[q.name] = ledger["totals"][q.name]
    for path, value in (varied or {}).items():
        row[path] = value
    types = {"replicate": pa.int64(), "point": pa.int64(), "counterfactual": pa.string(),
             "counterfactual_sha256": pa.string(), "declared_population": pa.int64(),
             "simulate_s": pa.float64(), "citizen_days_per_s": pa.float64()}
    types |= {name: pa.int64() for name in known_quantities()}
    return pa.table({name: pa.array([value], type=types.get(name))
                     for name, value in row.items()})


LEDGER_SCHEMA = pa.schema([
    ("run", pa.string()), ("quantity", pa.string()), ("group", pa.string()),
    ("side", pa.string()), ("measure", pa.string()), ("citizens", pa.int64()),
    ("value", pa.int64()), ("rate_per_100k", pa.float64()), ("ci95_low", pa.float64()),
    ("ci95_high", pa.float64()), ("status", pa.string()), ("ratio", pa.float64()),
    ("ratio_ci95_low", pa.float64()), ("ratio_ci95_high", pa.float64()),
    ("ratio_status", pa.string()),
])


def ledger_rows(folder: str, ledger: dict[str, Any]) -> pa.Table:
    """The ledger in long form: one row per quantity and group ('all' for everyone)."""
    rows: dict[str, list] = {field.name: [] for field in LEDGER_SCHEMA}
    places = [(ALL_GROUPS, ledger["citizens"], ledger["overall"], None)]
    places += [(g, entry["citizens"], entry["quantities"], g)
               for g, entry in ledger["by_group"].items()]
    for group, citizens, quantities, name in places:
        for q in quantities_in(ledger):
            entry = quantities[q.name]
            ratio = ledger["disparity"][q.name][name] if name is not None else {}
            ci = entry["ci95_per_100k"] or (None, None)
            ratio_ci = ratio.get("ci95") or (None, None)
            for column, value in (
                ("run", folder), ("quantity", q.name), ("group", group), ("side", q.side),
                ("measure", ledger["quantities"][q.name]["measure"]), ("citizens", citizens),
                ("value", entry["value"]), ("rate_per_100k", entry["rate_per_100k"]),
                ("ci95_low", ci[0]), ("ci95_high", ci[1]), ("status", entry["status"]),
                ("ratio", ratio.get("ratio")), ("ratio_ci95_low", ratio_ci[0]),
                ("ratio_ci95_high", ratio_ci[1]), ("ratio_status", ratio.get("status")),
            ):
                rows[column].append(value)
    return pa.table(rows, schema=LEDGER_SCHEMA)
