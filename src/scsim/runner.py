"""One run from scenario to run folder: simulate, tabulate, write atomically."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from scsim import __version__
from scsim.engine import DEFAULT_CHUNK_SIZE
from scsim.engine.memory import CITIZEN_COLUMNS, bytes_per_citizen, estimate_memory
from scsim.engine.sim import ProgressCallback, SimulationResult, simulate
from scsim.io.run_dir import EFFECTIVE_COUNTERFACTUAL, EFFECTIVE_SCENARIO, atomic_run_dir
from scsim.io.stored_run import files_sha256
from scsim.ledger import build_ledger
from scsim.registry import ledger_rows, run_row
from scsim.results import daily_table, histogram_table, transitions_table
from scsim.scenario.load import LoadedScenario, canonical_dump, scenario_toml
from scsim.scenario.pairing import Counterfactual


def peak_memory_bytes() -> int:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def provenance() -> dict[str, Any]:
    return {
        "scsim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "pyarrow": pa.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "memory_total_bytes": int(psutil.virtual_memory().total),
    }


def build_summary(loaded: LoadedScenario, result: SimulationResult, wall_s: float,
                  counterfactual: Counterfactual | None = None) -> dict:
    s = loaded.scenario
    citizen_days = s.population.size * s.run.days
    simulate_s = result.timings["simulate_s"]
    return {
        "scenario": canonical_dump(s),  # exactly what scenario_sha256 hashes
        "scenario_file": loaded.source,
        "scenario_sha256": loaded.sha256,
        "counterfactual": None if counterfactual is None else {
            "label": counterfactual.label,
            "scenario": canonical_dump(counterfactual.scenario),
            "scenario_sha256": counterfactual.sha256,
        },
        "seed": s.run.seed,
        "population": s.population.size,
        "declared_population": loaded.declared_population,
        "days": s.run.days,
        "version": __version__,
        "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=wall_s)).isoformat(),
        "wall_time_s": wall_s,
        "timings_s": result.timings,
        "citizen_days": citizen_days,
        "citizen_days_per_s": citizen_days / simulate_s if simulate_s > 0 else None,
        "peak_memory_bytes": peak_memory_bytes(),
        "estimated_memory_bytes": estimate_memory(
            s, result.n_workers, counterfactual.scenario if counterfactual else None
        ).total,
        "bytes_per_citizen": bytes_per_citizen(),
        "citizen_columns": {name: str(dtype) for name, dtype, _ in CITIZEN_COLUMNS},
        "threads": result.n_workers,
        "chunk_size": result.chunk_size,
        "kernel": result.kernel,
        "first_citizen_id": result.first_id,
        "provenance": provenance(),
    }


def stories_document(result: SimulationResult, counterfactual: Counterfactual | None) -> dict:
    """``stories.json``: the run's examples of each ledger quantity (citizen ids), and the
    life of one citizen of each kind it has (``scsim.story.STORY_KINDS``), re-simulated."""
    from scsim.engine.trace import Tracer
    from scsim.story import DATE_NOTE, kind_stories

    tracer = Tracer(result.scenario, result.counterfactual, result.first_id,
                    kernel=result.kernel)
    return {"counterfactual": counterfactual.label if counterfactual else None,
            "date_note": DATE_NOTE if result.scenario.run.start is None else "",
            "examples": result.examples,
            "stories": kind_stories(tracer, result.examples)}


def effective_scenarios(loaded: LoadedScenario, counterfactual: Counterfactual | None
                        ) -> dict[str, str]:
    """The files that reproduce the run: ``scenario.toml`` (the effective scenario, at the
    file's population: the command gives --population) and, when the run is paired with
    another scenario file, ``counterfactual.toml``."""
    files = {EFFECTIVE_SCENARIO: scenario_toml(loaded.scenario, loaded.declared_population)}
    if counterfactual is not None and counterfactual.label != "none":
        files[EFFECTIVE_COUNTERFACTUAL] = scenario_toml(counterfactual.scenario)
    return files


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def run_to_folder(
    loaded: LoadedScenario,
    out: Path,
    *,
    force: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    counterfactual: Counterfactual | None = None,
    varied: dict[str, Any] | None = None,
    replicate: int | None = None,
    point: int | None = None,
    kernel: str = "auto",
    attribute: bool = False,
    posterior: dict[str, Any] | None = None,
) -> tuple[SimulationResult, dict, dict]:
    """Simulate a scenario (paired if asked) and write its run folder; nothing is left if it fails.

    ``varied``, ``replicate`` and ``point`` say where the run sits in an
    experiment (they go into ``run.parquet``).  Returns the result, the
    summary and the ledger as written.  ``kernel``: ``auto``, ``universal`` or
    ``specialised`` (``scsim.engine.choice``): a choice of speed only.  ``attribute``: also
    write ``attribution.json``, where each benefit comes from (``scsim.attribution``: one
    more paired run per mechanism that can be switched off).  ``posterior``: the fit's
    draw the run's fitted values came from (``summary.json`` records it).
    """
    start = time.perf_counter()
    if posterior is not None and varied is None:  # (run.parquet: the particle and its values)
        varied = {"posterior_particle": posterior["particle"], **posterior["values"]}
    with atomic_run_dir(out, force) as tmp:
        result = simulate(
            loaded.scenario,
            counterfactual=counterfactual.scenario if counterfactual else None,
            chunk_size=chunk_size,
            progress=progress,
            kernel=kernel,
        )
        write_parquet(daily_table(result), tmp / "daily.parquet")
        write_parquet(histogram_table(result), tmp / "score_histogram.parquet")
        write_parquet(transitions_table(result), tmp / "grade_transitions.parquet")
        ledger = build_ledger(result, counterfactual.label if counterfactual else None)
        (tmp / "ledger.json").write_text(json.dumps(ledger, indent=2) + "\n")
        (tmp / "stories.json").write_text(json.dumps(
            stories_document(result, counterfactual), indent=2) + "\n")
        summary = build_summary(loaded, result, time.perf_counter() - start, counterfactual)
        if posterior is not None:
            summary["posterior"] = posterior
        write_parquet(run_row(out.name, summary, ledger, varied, replicate, point),
                      tmp / "run.parquet")
        write_parquet(ledger_rows(out.name, ledger), tmp / "ledger.parquet")
        if attribute:
            from scsim.attribution import attribute as attribute_benefits

            (tmp / "attribution.json").write_text(
                json.dumps(attribute_benefits(loaded.scenario).to_json(), indent=2) + "\n")
        for name, text in effective_scenarios(loaded, counterfactual).items():
            (tmp / name).write_text(text, encoding="utf-8")
        summary["files_sha256"] = files_sha256(tmp)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return result, summary, ledger

