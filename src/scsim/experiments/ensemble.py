"""Replicate ensembles: one scenario under many seeds, and what its figures are across them.

An ensemble folder holds

* ``ensemble.json``: what was asked (scenario and counterfactual hashes, the
  root seed and the seed scheme, the replicate count and stopping rule) and
  what happened (replicates done, failures, whether the target was met);
* ``replicate=R/``: one ordinary run folder per replicate R, with seed
  ``replicate_seed(root, R)``;
* ``results.parquet``: the replicates' ``run.parquet`` rows, one per
  replicate (the compacted results);
* ``ensemble.parquet``: per ledger quantity and group (``all`` for
  everyone): the mean over replicates, a 95% t-interval of that mean, the
  10th-90th percentile spread of the replicates, and the relative seed
  noise (standard deviation over mean).

A replicate folder appears only when its run is complete, so an interrupted
ensemble resumes by running the replicates that are missing; results after
an interruption and ``resume`` equal an uninterrupted ensemble's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from scsim.errors import ScsimError
from scsim.experiments.design import MAX_REPLICATES
from scsim.experiments.posterior import Posterior
from scsim.experiments.seeds import SCHEME, replicate_seed
from scsim.ledger import quantities_in
from scsim.quantities import PAIRED_DIFFERENCE
from scsim.registry import ALL_GROUPS
from scsim.scenario.load import LoadedScenario
from scsim.scenario.pairing import Counterfactual

HEADLINE = ("sanctioned", "wrongly_sanctioned", "behaviours_prevented", "trips_denied",
            "speech_lost", "false_records", "income_lost", "children_penalised")
"""Quantities --until-halfwidth watches (those the run measures)."""
FORMAT = 2


class EnsembleError(ScsimError):
    """An ensemble that cannot be started or resumed; one line says why."""


@dataclass
class EnsembleSpec:
    loaded: LoadedScenario
    counterfactual: Counterfactual | None
    out: Path
    root_seed: int
    replicates: int
    until_halfwidth: float | None = None
    max_replicates: int | None = None
    posterior: Posterior | None = None
    """With --posterior: each replicate's fitted values are one draw from this fit."""


@dataclass
class EnsembleOutcome:
    done: list[int]
    failed: dict[int, str] = field(default_factory=dict)
    widths: dict[str, float | None] = field(default_factory=dict)
    """Relative half-width of each headline quantity's 95% t-interval (None if undefined)."""
    target_met: bool | None = None
    """With --until-halfwidth: whether every headline quantity reached the target."""


def replicate_folder(out: Path, replicate: int) -> Path:
    return out / f"replicate={replicate}"


def replicate_scenarios(spec: EnsembleSpec, replicate: int
                        ) -> tuple[LoadedScenario, Counterfactual | None, dict[str, Any]]:
    """The scenario (and counterfactual) replicate R runs, and the values it draws: the
    ensemble's own, or with --posterior, the fitted values of its draw."""
    if spec.posterior is None:
        return spec.loaded, spec.counterfactual, {}
    from scsim.experiments.posterior import drawn_scenarios

    return drawn_scenarios(spec.posterior, spec.loaded, spec.counterfactual, spec.root_seed,
                           replicate)


def replicate_task(spec: EnsembleSpec, replicate: int) -> dict[str, Any]:
    from scsim.experiments.tasks import make_task

    loaded, pairing, varied = replicate_scenarios(spec, replicate)
    return make_task(loaded, pairing, replicate_seed(spec.root_seed, replicate),
                     replicate_folder(spec.out, replicate), replicate=replicate, varied=varied)


def _manifest(spec: EnsembleSpec) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": "ensemble",
        "scenario": spec.loaded.scenario.name,
        "scenario_file": spec.loaded.source,
        "scenario_sha256": spec.loaded.sha256,
        "counterfactual": None if spec.counterfactual is None else {
            "label": spec.counterfactual.label, "scenario_sha256": spec.counterfactual.sha256},
        "root_seed": spec.root_seed,
        "seed_scheme": SCHEME,
        "replicates": spec.replicates,
        "until_halfwidth": spec.until_halfwidth,
        "max_replicates": spec.max_replicates,
        "posterior": None if spec.posterior is None else spec.posterior.manifest(),
    }


IDENTITY = ("format", "scenario_sha256", "counterfactual", "root_seed", "seed_scheme",
            "until_halfwidth", "max_replicates", "posterior")
"""What an ensemble's results depend on besides its replicate count: a resumed ensemble must
agree on every one, and may only ask for as many replicates or more."""


class EnsembleManifest(BaseModel):
    """ensemble.json as read back to resume."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    format: int
    kind: Literal["ensemble"]
    scenario_sha256: str
    root_seed: Annotated[int, Field(ge=0)]
    replicates: Annotated[int, Field(ge=1, le=MAX_REPLICATES)]


def read_manifest(path: Path) -> dict[str, Any]:
    """ensemble.json, checked: EnsembleError naming the file and the problem."""
    from scsim.io.stored_run import RunFolderError, read_json_document

    try:
        return read_json_document(path, EnsembleManifest).model_dump(mode="json")
    except RunFolderError as exc:
        raise EnsembleError(f"{exc}; use --force to start again") from None


def _differences(stored: dict[str, Any], spec: EnsembleSpec) -> list[str]:
    wanted = _manifest(spec)
    differs = [k for k in IDENTITY if stored.get(k) != wanted[k]]
    if stored.get("replicates", 0) > spec.replicates:
        differs.append(f"replicates ({spec.replicates}, fewer than the {stored['replicates']} "
                       "it was started with; give as many or more)")
    return differs


def completed(spec: EnsembleSpec, replicate: int) -> bool:
    """A replicate whose folder holds a complete run of this ensemble's scenario, pairing
    and seed."""
    from scsim.experiments.sweep import completed_run

    loaded, pairing, _ = replicate_scenarios(spec, replicate)
    return completed_run(replicate_folder(spec.out, replicate),
                         replicate_seed(spec.root_seed, replicate), loaded, pairing)


def prepare(spec: EnsembleSpec, stored: dict[str, Any] | None) -> list[int]:
    """The replicates already done in the claimed folder, when resuming the same ensemble
    (``stored``: its manifest); a resume that differs in anything the results depend on is
    refused."""
    done = []
    if stored is not None:
        if stored.get("format") != FORMAT:
            raise EnsembleError(f"{spec.out / 'ensemble.json'}: written by another version of "
                                f"scsim (format {stored.get('format')}, not {FORMAT}), which did "
                                "not record all a resume must match; use --force to start "
                                "again")
        differs = _differences(stored, spec)
        if differs:
            raise EnsembleError(f"{spec.out / 'ensemble.json'}: --resume with another "
                                f"{', '.join(differs)} than the ensemble started with; use "
                                "--force to start again")
        indices = (p.name.removeprefix("replicate=") for p in spec.out.glob("replicate=*"))
        done = sorted(int(k) for k in indices
                      if k.isdigit() and int(k) < (spec.max_replicates or spec.replicates)
                      and completed(spec, int(k)))
    return done


# --- statistics across replicates ------------------------------------------------


def spread(values: list[float], non_negative: bool) -> dict[str, float | None]:
    """Mean, standard deviation, 95% t-interval of the mean (kept at or above 0 for
    non-negative quantities), the replicates' 5th, 10th, 50th, 90th and 95th percentiles
    (their spread: with --posterior, the 5th to 95th is the 90% interval of parameter and
    seed uncertainty together), relative seed noise."""
    from scipy.stats import t as student

    x = np.asarray(values, dtype=float)
    n = x.size
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else None
    low = high = None
    if sd is not None:
        half = float(student.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
        if non_negative:
            low = max(low, 0.0)
    return {
        "replicates": n,
        "mean": mean,
        "sd": sd,
        "t95_low": low,
        "t95_high": high,
        "relative_halfwidth": None if sd is None or mean == 0 else (high - low) / 2 / abs(mean),
        "p05": float(np.percentile(x, 5)),
        "p10": float(np.percentile(x, 10)),
        "median": float(np.percentile(x, 50)),
        "p90": float(np.percentile(x, 90)),
        "p95": float(np.percentile(x, 95)),
        "relative_seed_noise": None if sd is None or mean == 0 else sd / abs(mean),
    }


SUMMARY_SCHEMA = pa.schema([
    ("quantity", pa.string()), ("group", pa.string()), ("side", pa.string()),
    ("measure", pa.string()), ("replicates", pa.int64()), ("mean", pa.float64()),
    ("sd", pa.float64()), ("t95_low", pa.float64()), ("t95_high", pa.float64()),
    ("relative_halfwidth", pa.float64()), ("p05", pa.float64()), ("p10", pa.float64()),
    ("median", pa.float64()), ("p90", pa.float64()), ("p95", pa.float64()),
    ("relative_seed_noise", pa.float64()),
])


def summarise(ledgers: list[dict[str, Any]]) -> pa.Table:
    """Per quantity and group, the statistics of its totals across the replicates' ledgers."""
    rows: dict[str, list] = {f.name: [] for f in SUMMARY_SCHEMA}
    if not ledgers:
        return pa.table(rows, schema=SUMMARY_SCHEMA)
    groups = [ALL_GROUPS, *ledgers[0]["by_group"]]
    for q in quantities_in(ledgers[0]):
        measure = ledgers[0]["quantities"][q.name]["measure"]
        for g in groups:
            values = [(led["overall"] if g == ALL_GROUPS else
                       led["by_group"][g]["quantities"])[q.name]["value"] for led in ledgers]
            if any(v is None for v in values):
                continue  # not measured (needs a counterfactual)
            about = ledgers[0]["quantities"][q.name]
            signed = about.get("can_be_negative", measure == PAIRED_DIFFERENCE)
            stats = spread(values, non_negative=not signed)
            for column, value in (("quantity", q.name), ("group", g), ("side", q.side),
                                  ("measure", measure), *stats.items()):
                rows[column].append(value)
    return pa.table(rows, schema=SUMMARY_SCHEMA)


def weighing_spread(ledgers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each harm per unit of each benefit across the replicates: the median and the 5th to
    95th percentiles of the replicates' ratios, and the ratio of the summed totals, over the
    replicates where the run divided them (a benefit known above 0)."""
    rows = []
    if not ledgers or "weighing" not in ledgers[0]:
        return rows
    for harm, about in ledgers[0]["weighing"]["harms"].items():
        for benefit in about["per_unit_of"]:
            ratios = [led["weighing"]["harms"][harm]["per_unit_of"].get(benefit)
                      for led in ledgers if harm in led["weighing"]["harms"]]
            known = np.array([r for r in ratios if r is not None], dtype=float)
            harms = sum(led["weighing"]["harms"][harm]["value"] for led in ledgers)
            benefits = sum(led["weighing"]["benefits"][benefit]["value"] for led in ledgers)
            rows.append({
                "harm": harm, "benefit": benefit, "replicates": len(ledgers),
                "divided_in": int(known.size),
                "ratio_of_totals": harms / benefits if benefits > 0 else None,
                "median": float(np.percentile(known, 50)) if known.size else None,
                "p05": float(np.percentile(known, 5)) if known.size else None,
                "p95": float(np.percentile(known, 95)) if known.size else None,
            })
    return rows


def headline_widths(summary: pa.Table) -> dict[str, float | None]:
    """Relative half-width of each measured headline quantity's interval, over everyone."""
    widths = {}
    for row in summary.to_pylist():
        if row["group"] == ALL_GROUPS and row["quantity"] in HEADLINE:
            if row["mean"] == 0 and (row["sd"] or 0) == 0:
                widths[row["quantity"]] = 0.0  # the same (zero) in every replicate
            else:
                widths[row["quantity"]] = row["relative_halfwidth"]
    return widths


def _met(widths: dict[str, float | None], target: float) -> bool:
    return all(w is not None and w <= target for w in widths.values())


def _read_replicate(spec: EnsembleSpec, replicate: int) -> tuple[dict[str, Any], pa.Table]:
    """A replicate's checked ledger and run.parquet row (RunFolderError if damaged)."""
    from scsim.io.stored_run import read_parquet, read_run

    folder = replicate_folder(spec.out, replicate)
    run = read_run(folder, ("summary.json", "ledger.json", "run.parquet"), ("ledger.parquet",))
    return run.ledger, read_parquet(folder / "run.parquet")


def run_ensemble(spec: EnsembleSpec, client: Any, done: list[int], batch: int = 2,
                 progress: Callable[[int, int], None] | None = None) -> EnsembleOutcome:
    """Run the ensemble in its prepared folder (claimed with ``experiment_folder``, then
    ``prepare``: ``done``, the replicates already there) on ``client``; with
    ``until_halfwidth``, add ``batch`` replicates at a time until every headline quantity's
    relative half-width is at most the target, or ``max_replicates`` is reached. The figures
    are of replicates 0..R-1 exactly, R the replicates planned, whatever else a resumed
    folder holds."""
    from scsim.experiments.cluster import run_tasks
    from scsim.io.run_dir import OutputError, clean_stale_partials, write_text_atomically
    from scsim.io.stored_run import RunFolderError

    try:
        write_text_atomically(spec.out / "ensemble.json",
                              json.dumps(_manifest(spec), indent=2) + "\n", replace=True)
    except OutputError as exc:
        raise EnsembleError(str(exc)) from None
    outcome = EnsembleOutcome(done=list(done))
    limit = spec.max_replicates or spec.replicates
    planned = spec.replicates
    read: dict[int, tuple[dict[str, Any], pa.Table]] = {}

    def report(result: dict[str, Any]) -> None:
        if result["ok"]:
            outcome.done.append(result["replicate"])
        else:
            outcome.failed[result["replicate"]] = result["error"]
        if progress is not None:
            progress(len(outcome.done) + len(outcome.failed), planned)

    if progress is not None:
        progress(len([r for r in outcome.done if r < planned]), planned)
    while True:
        todo = [r for r in range(planned) if r not in outcome.done and r not in outcome.failed]
        run_tasks(client, [replicate_task(spec, r) for r in todo], report)
        for r in sorted(set(outcome.done) - set(read)):
            try:
                read[r] = _read_replicate(spec, r)
            except RunFolderError as exc:  # damaged after it ran: failed, never left out
                outcome.done.remove(r)
                outcome.failed[r] = str(exc)
        outcome.done.sort()
        used = [r for r in outcome.done if r < planned]
        summary = summarise([read[r][0] for r in used])
        outcome.widths = headline_widths(summary)
        if spec.until_halfwidth is None:
            break
        outcome.target_met = _met(outcome.widths, spec.until_halfwidth)
        if outcome.target_met or planned >= limit:
            break
        planned = min(limit, planned + batch)
    outcome.done = [r for r in outcome.done if r < planned]
    try:
        _write_results(spec, outcome, summary, [read[r][1] for r in outcome.done],
                       weighing_spread([read[r][0] for r in outcome.done]))
    except OutputError as exc:
        raise EnsembleError(str(exc)) from None
    clean_stale_partials(spec.out)  # left by workers of an interrupted ensemble
    return outcome


def _write_results(spec: EnsembleSpec, outcome: EnsembleOutcome, summary: pa.Table,
                   rows: list[pa.Table], weighing: list[dict[str, Any]]) -> None:
    from scsim.io.run_dir import write_parquet_atomically, write_text_atomically

    results = pa.concat_tables(rows, promote_options="default") if rows else pa.table({})
    write_parquet_atomically(results, spec.out / "results.parquet", replace=True)
    write_parquet_atomically(summary, spec.out / "ensemble.parquet", replace=True)
    manifest = _manifest(spec) | {
        "replicates_done": outcome.done,
        "replicates_failed": {str(r): why for r, why in outcome.failed.items()},
        "headline_relative_halfwidths": outcome.widths,
        "target_met": outcome.target_met,
        "weighing": weighing,
        "statistics": {
            "mean": "mean over replicates of each total",
            "t95": "95% Student t-interval of that mean (kept at or above 0 for quantities "
                   "that cannot be negative)",
            "p10, p90": "10th and 90th percentiles of the replicates' totals: their spread, "
                        "not an interval of the mean",
            "p05, p95": ("5th and 95th percentiles of the replicates' totals: the 90% interval "
                         "of each figure under parameter uncertainty (one posterior draw per "
                         "replicate) and seed noise together"
                         if spec.posterior is not None else
                         "5th and 95th percentiles of the replicates' totals (seed noise "
                         "only: every replicate has the same values)"),
            "weighing": "per harm and benefit, the median and 5th to 95th percentiles of the "
                        "replicates' ratios (harm per unit of benefit), over the replicates "
                        "whose benefit was known above 0",
            "relative_seed_noise": "standard deviation across replicates over the mean",
        },
    }
    write_text_atomically(spec.out / "ensemble.json", json.dumps(manifest, indent=2) + "\n",
                          replace=True)

