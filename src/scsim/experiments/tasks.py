"""One run as a task: plain data in, a run folder on disk, small metadata out.

A task is a dict, so it pickles anywhere (numba dispatchers do not travel):
the validated scenario (and counterfactual) as JSON-able dicts, where to
write, and where the run sits in an experiment.  ``run_task`` is what a
Dask worker executes.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scsim.scenario.load import LoadedScenario
    from scsim.scenario.model import Scenario
    from scsim.scenario.pairing import Counterfactual


def _with_seed(scenario: Scenario, seed: int) -> dict[str, Any]:
    dump = scenario.model_dump(mode="json")
    dump["run"]["seed"] = seed
    return dump


def make_task(loaded: LoadedScenario, pairing: Counterfactual | None, seed: int, out: Path, *,
              replicate: int | None = None, point: int | None = None,
              varied: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task for one run of ``loaded`` (paired with ``pairing``, if any) under ``seed``."""
    counterfactual = None if pairing is None else {
        "label": pairing.label, "scenario": _with_seed(pairing.scenario, seed)}
    return {"scenario": _with_seed(loaded.scenario, seed), "out": str(out),
            "declared_population": loaded.declared_population,
            "counterfactual": counterfactual, "replicate": replicate, "point": point,
            "varied": varied or {}}


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task into its folder; never raises: a failure is returned with its reason."""
    started = time.perf_counter()
    try:
        import dataclasses

        from scsim.runner import run_to_folder
        from scsim.scenario.load import validate_scenario
        from scsim.scenario.pairing import Counterfactual

        loaded = validate_scenario(task["scenario"], f"task {task['out']}")
        loaded = dataclasses.replace(loaded, declared_size=task["declared_population"])
        pairing = None
        if task["counterfactual"] is not None:
            cf = validate_scenario(task["counterfactual"]["scenario"], "counterfactual")
            pairing = Counterfactual(cf.scenario, task["counterfactual"]["label"], cf.sha256)
        from scsim.engine.warmup import warm_up

        warm_up(loaded.scenario, pairing.scenario if pairing else None)  # off the clock
        _, _, ledger = run_to_folder(
            loaded, Path(task["out"]), force=True, counterfactual=pairing,
            varied=task["varied"], replicate=task["replicate"], point=task["point"])
        return {"out": task["out"], "ok": True, "error": None,
                "wall_s": time.perf_counter() - started, "totals": ledger["totals"],
                "replicate": task["replicate"], "point": task["point"]}
    except Exception as exc:  # a failed run is recorded, never fatal to the experiment
        return {"out": task["out"], "ok": False,
                "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                "detail": traceback.format_exc()[-2000:], "wall_s": time.perf_counter() - started,
                "totals": None, "replicate": task["replicate"], "point": task["point"]}
