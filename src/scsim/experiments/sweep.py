"""Parameter sweeps: a design of points, each run under the same replicate seeds.

Every point of the design is one scenario (the base with the point's values
set, validated like ``--set``) run under replicates 0..R-1 with the seeds of
``scsim.experiments.seeds``: the same seeds at every point, so differences
between points are the parameters' effect under common random numbers, not
seed noise. A sweep folder holds

* ``sweep.json``: the base scenario, the varied parameters, the design,
  samples, replicates, root seed, and afterwards what ran and what failed;
* ``design.parquet``: one row per point with its values;
* ``point=P/replicate=R/``: one ordinary run folder per point and replicate;
* ``results.parquet``: the runs' ``run.parquet`` rows (point, replicate,
  varied values, ledger totals), compacted.

Experiments are data: the same sweep can be given as an experiment file
(TOML), see ``Experiment``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scsim.experiments.design import DESIGNS, DesignError, Vary, build, make_range, problem
from scsim.experiments.seeds import SCHEME, replicate_seed
from scsim.scenario.load import (
    LoadedScenario,
    ScenarioError,
    load_scenario,
    read_raw,
    scenario_from_raw,
    scenario_sha256,
)
from scsim.scenario.pairing import Counterfactual, no_system

FORMAT = 1


class SweepError(Exception):
    """A sweep that cannot be run; one line says why."""


# --- the experiment file ---------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class VarySpec(_Strict):
    """One varied parameter: a range or a list of values."""

    path: str = Field(min_length=1)
    """Dotted path of a scenario field, as for --set."""
    low: float | None = None
    high: float | None = None
    values: list[Any] | None = Field(default=None, min_length=2)


class Experiment(_Strict):
    """An experiment file: the scenario, what varies, the design, and how many runs."""

    scenario: str = Field(min_length=1)
    """The scenario file, relative to the experiment file."""
    vary: list[VarySpec] = Field(min_length=1)
    design: Literal[DESIGNS] = "lhs"  # type: ignore[valid-type]
    samples: Annotated[int, Field(ge=1, le=100_000)] = 8
    replicates: Annotated[int, Field(ge=1, le=10_000)] = 1
    seed: Annotated[int, Field(ge=0, lt=2**63)] | None = None
    counterfactual: str | None = None
    """'none' or a scenario file (relative to the experiment file)."""
    population: Annotated[int, Field(gt=0)] | None = None
    days: Annotated[int, Field(gt=0)] | None = None
    set: dict[str, Any] = {}
    """Fixed overrides of the scenario, by dotted path."""


def read_experiment(path: Path) -> Experiment:
    from scsim.scenario.load import _read_text, parse_toml

    source = str(path)
    try:
        return Experiment.model_validate(parse_toml(_read_text(path, source), source))
    except ScenarioError as exc:
        raise SweepError(exc.lines()[0]) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise SweepError(f"{source}: {where}: {error['msg']}") from None


def is_experiment(path: Path) -> bool:
    """An experiment file names its scenario and what varies; a scenario file does neither."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("scenario"), str) and "vary" in data


def varies_of(experiment: Experiment) -> list[Vary]:
    varies = []
    for k, v in enumerate(experiment.vary):
        where = f"vary[{k}] ({v.path})"
        if v.values is not None:
            if v.low is not None or v.high is not None:
                raise SweepError(f"{where}: give low and high, or values, not both")
            varies.append(Vary(v.path, values=tuple(v.values)))
        elif v.low is None or v.high is None:
            raise SweepError(f"{where}: give low and high, or values")
        else:
            try:
                varies.append(make_range(v.path, v.low, v.high, where))
            except DesignError as exc:
                raise SweepError(str(exc)) from None
    return varies


# --- the plan --------------------------------------------------------------------


@dataclass
class SweepSpec:
    scenario_file: Path
    fixed: dict[str, Any]
    """Overrides every point shares (--set, --population, --days)."""
    varies: list[Vary]
    design: str
    samples: int
    replicates: int
    root_seed: int
    counterfactual: str | None
    out: Path
    points: list[dict[str, Any]] = field(default_factory=list)
    matrix: Any = None
    loaded: list[LoadedScenario] = field(default_factory=list)
    pairings: list[Counterfactual | None] = field(default_factory=list)


def _integer_paths(base: LoadedScenario, varies: list[Vary]) -> list[Vary]:
    """Mark ranges over integer fields (the base scenario's value there is an int)."""
    dump = base.scenario.model_dump(mode="json")
    marked = []
    for v in varies:
        node: Any = dump
        for part in v.path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        integer = isinstance(node, int) and not isinstance(node, bool)
        marked.append(Vary(v.path, v.low, v.high, v.values, integer))
    return marked


def plan(spec: SweepSpec) -> SweepSpec:
    """Build the design and validate every point (and its bounds) before anything runs."""
    from scsim.scenario.pairing import world_differences

    source = str(spec.scenario_file)
    try:
        raw = read_raw(spec.scenario_file)  # once: every point is built from it
        base = scenario_from_raw(raw, source, spec.fixed)
    except ScenarioError as exc:
        raise SweepError(exc.lines()[0]) from None
    spec.varies = _integer_paths(base, spec.varies)
    for v in spec.varies:  # the bounds themselves, so a bad bound is named even if unsampled
        for value in ([v.low, v.high] if v.is_range else list(v.values)):
            value = int(np.rint(value)) if v.integer and v.is_range else value
            try:
                scenario_from_raw(raw, source, spec.fixed | {v.path: value})
            except ScenarioError as exc:
                raise SweepError(f"--vary {v.describe()}: the value {value!r} is refused: "
                                 + exc.problems[0][1] + f" ({exc.problems[0][0]})") from None
    try:
        spec.points, spec.matrix = build(spec.varies, spec.design, spec.samples, spec.root_seed)
    except DesignError as exc:
        raise SweepError(str(exc)) from None
    other = None
    if spec.counterfactual not in (None, "none"):
        try:
            other = load_scenario(Path(spec.counterfactual), {
                k: v for k, v in spec.fixed.items()
                if k in ("run.seed", "population.size", "run.days")})
        except ScenarioError as exc:
            raise SweepError(f"--counterfactual: {exc.lines()[0]}") from None
    for p, values in enumerate(spec.points):
        try:
            loaded = scenario_from_raw(raw, source, spec.fixed | values)
        except ScenarioError as exc:
            raise SweepError(f"point {p} ({values}): {exc.lines()[0]}") from None
        spec.loaded.append(loaded)
        if spec.counterfactual is None:
            spec.pairings.append(None)
        elif spec.counterfactual == "none":
            cf = no_system(loaded.scenario)
            spec.pairings.append(Counterfactual(cf, "none", scenario_sha256(cf)))
        else:
            problems = world_differences(loaded.scenario, other.scenario)
            if problems:
                raise SweepError(f"point {p}: the counterfactual {spec.counterfactual} is "
                                 f"another world ({problems[0][0]}: {problems[0][1]}); vary "
                                 "only the policy, or pair with none")
            spec.pairings.append(Counterfactual(other.scenario, spec.counterfactual,
                                                other.sha256))
    return spec


def run_folder(out: Path, point: int, replicate: int) -> Path:
    return out / f"point={point}" / f"replicate={replicate}"


def _task(spec: SweepSpec, point: int, replicate: int) -> dict[str, Any]:
    from scsim.experiments.tasks import make_task

    return make_task(spec.loaded[point], spec.pairings[point],
                     replicate_seed(spec.root_seed, replicate),
                     run_folder(spec.out, point, replicate), replicate=replicate, point=point,
                     varied=spec.points[point])


def _manifest(spec: SweepSpec) -> dict[str, Any]:
    return {
        "format": FORMAT, "kind": "sweep", "scenario_file": str(spec.scenario_file),
        "base_sha256": spec.loaded[0].sha256 if spec.loaded else None,
        "point_sha256": [s.sha256 for s in spec.loaded],
        "fixed": spec.fixed, "vary": [v.__dict__ | {"values": list(v.values) if v.values
                                                    else None} for v in spec.varies],
        "problem": problem(spec.varies), "design": spec.design, "samples": spec.samples,
        "points": len(spec.points), "replicates": spec.replicates,
        "root_seed": spec.root_seed, "seed_scheme": SCHEME,
        "counterfactual": spec.counterfactual,
    }


def _done(spec: SweepSpec, point: int, replicate: int) -> bool:
    folder = run_folder(spec.out, point, replicate)
    if not (folder / "summary.json").is_file():
        return False
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    seed = replicate_seed(spec.root_seed, replicate)
    scenario = dict(summary.get("scenario") or {})
    if not scenario or summary.get("seed") != seed or not (folder / "run.parquet").is_file():
        return False
    scenario["run"] = dict(scenario["run"], seed=spec.loaded[point].scenario.run.seed)
    from scsim.scenario.load import validate_scenario

    try:
        return validate_scenario(scenario).sha256 == spec.loaded[point].sha256
    except ScenarioError:
        return False


def prepare(spec: SweepSpec, *, resume: bool, force: bool) -> set[tuple[int, int]]:
    from scsim.io.run_dir import (
        OutputError,
        claim_folder,
        write_parquet_atomically,
        write_text_atomically,
    )

    try:
        stored = claim_folder(spec.out, "sweep.json", "sweep", resume=resume, force=force)
        done: set[tuple[int, int]] = set()
        if stored is not None:
            if stored.get("point_sha256") != [s.sha256 for s in spec.loaded] or stored.get(
                    "root_seed") != spec.root_seed:
                raise SweepError(f"{spec.out / 'sweep.json'}: --resume with another design, "
                                 "scenario or seed; use --force to start again")
            done = {(p, r) for p in range(len(spec.points)) for r in range(spec.replicates)
                    if _done(spec, p, r)}
        write_text_atomically(spec.out / "sweep.json",
                              json.dumps(_manifest(spec), indent=2) + "\n")
        write_parquet_atomically(pa.table({"point": list(range(len(spec.points))), **{
            v.path: [pt[v.path] for pt in spec.points] for v in spec.varies}}),
            spec.out / "design.parquet")
    except OutputError as exc:
        raise SweepError(str(exc)) from None
    return done


@dataclass
class SweepOutcome:
    runs: int
    failed: dict[str, str] = field(default_factory=dict)


def run_sweep(spec: SweepSpec, client: Any, *, resume: bool = False, force: bool = False,
              progress: Callable[[int, int], None] | None = None) -> SweepOutcome:
    """Run every (point, replicate) not done yet; compact the results."""
    from scsim.experiments.cluster import run_tasks
    from scsim.io.run_dir import (
        clean_stale_partials,
        write_parquet_atomically,
        write_text_atomically,
    )

    done = prepare(spec, resume=resume, force=force)
    total = len(spec.points) * spec.replicates
    todo = [(p, r) for p in range(len(spec.points)) for r in range(spec.replicates)
            if (p, r) not in done]
    outcome = SweepOutcome(runs=len(done))
    if progress is not None:
        progress(outcome.runs, total)

    def report(result: dict[str, Any]) -> None:
        if result["ok"]:
            outcome.runs += 1
        else:
            outcome.failed[f"point={result['point']}/replicate={result['replicate']}"] = \
                result["error"]
        if progress is not None:
            progress(outcome.runs + len(outcome.failed), total)

    run_tasks(client, [_task(spec, p, r) for p, r in todo], report)
    rows = [pq.read_table(run_folder(spec.out, p, r) / "run.parquet")
            for p in range(len(spec.points)) for r in range(spec.replicates)
            if (run_folder(spec.out, p, r) / "run.parquet").is_file()]
    results = pa.concat_tables(rows, promote_options="default") if rows else pa.table({})
    write_parquet_atomically(results, spec.out / "results.parquet")
    manifest = _manifest(spec) | {"runs_done": outcome.runs, "runs_failed": outcome.failed}
    write_text_atomically(spec.out / "sweep.json", json.dumps(manifest, indent=2) + "\n")
    clean_stale_partials(spec.out)
    for point in spec.out.glob("point=*"):
        clean_stale_partials(point)
    return outcome
