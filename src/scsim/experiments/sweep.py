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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scsim.errors import ScsimError
from scsim.experiments.design import (
    DESIGNS,
    MAX_POINTS,
    MAX_REPLICATES,
    MAX_SAMPLES,
    DesignError,
    Vary,
    build,
    expected_design_size,
    make_range,
    problem,
)
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

FORMAT = 2
TASK_SETS = {"run.seed": "each run's seed is derived from the root seed (seed, or --seed); it "
                         "cannot be set or varied"}
"""Values an experiment sets in every run itself, so a sweep may not set or vary them."""


class SweepError(ScsimError):
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
    samples: Annotated[int, Field(ge=1, le=MAX_SAMPLES)] = 8
    replicates: Annotated[int, Field(ge=1, le=MAX_REPLICATES)] = 1
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
        return Experiment.model_validate(parse_toml(_read_text(path, source), source),
                                         strict=True)
    except ScenarioError as exc:
        raise SweepError(exc.lines()[0]) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise SweepError(f"{source}: {where}: {error['msg']}") from None


def is_experiment(path: Path) -> bool:
    """An experiment file has a key that no scenario has (its scenario, what varies, the
    design, ...), and is then checked as one, so a mistake in it, even its scenario's
    absence, is named in one line, not read as a scenario's dozen missing sections."""
    import tomllib

    from scsim.scenario.load import _read_text
    from scsim.scenario.model import Scenario

    try:
        text = _read_text(path, str(path))  # never a FIFO, a device or a huge file
    except ScenarioError as exc:
        raise SweepError(exc.lines()[0]) from None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return False  # read again as a scenario, whose loader says what is wrong
    return bool(set(data) & (set(Experiment.model_fields) - set(Scenario.model_fields)))


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
    kind: str = "sweep"
    """'sweep', or 'screen' for a screening of a scenario's assumptions."""
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
    for path in (*spec.fixed, *(v.path for v in spec.varies)):
        if path in TASK_SETS:
            raise SweepError(f"{path}: {TASK_SETS[path]}")
    try:
        expected_design_size(spec.design, spec.samples, spec.varies, spec.replicates)
    except DesignError as exc:
        raise SweepError(str(exc)) from None
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
        "format": FORMAT, "kind": spec.kind, "scenario_file": str(spec.scenario_file),
        "base_sha256": spec.loaded[0].sha256 if spec.loaded else None,
        "point_sha256": [s.sha256 for s in spec.loaded],
        "fixed": spec.fixed, "vary": [v.__dict__ | {"values": list(v.values) if v.values
                                                    else None} for v in spec.varies],
        "problem": problem(spec.varies), "design": spec.design, "samples": spec.samples,
        "points": len(spec.points), "replicates": spec.replicates,
        "root_seed": spec.root_seed, "seed_scheme": SCHEME,
        "counterfactual": spec.counterfactual,
        "counterfactual_sha256": [None if p is None else p.sha256 for p in spec.pairings],
    }


IDENTITY = ("format", "point_sha256", "counterfactual_sha256", "root_seed", "seed_scheme",
            "design", "samples", "replicates")
"""What a sweep's results depend on: a resumed sweep must agree on every one."""


class StoredVary(BaseModel):
    """One varied parameter as sweep.json records it."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    path: str
    low: float | None = None
    high: float | None = None
    values: list[Any] | None = None


class SweepManifest(BaseModel):
    """sweep.json as read back (to resume, to analyse, for its page)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    format: int
    scenario_file: str
    vary: list[StoredVary] = Field(min_length=1)
    kind: Literal["sweep", "screen"]
    design: Literal[DESIGNS]  # type: ignore[valid-type]
    samples: Annotated[int, Field(ge=1)]
    points: Annotated[int, Field(ge=1, le=MAX_POINTS)]
    replicates: Annotated[int, Field(ge=1, le=MAX_REPLICATES)]
    root_seed: Annotated[int, Field(ge=0)]
    problem: dict[str, Any]

    @field_validator("problem")
    @classmethod
    def _salib_problem(cls, value: dict[str, Any]) -> dict[str, Any]:
        names, bounds = value.get("names"), value.get("bounds")
        if (not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names)
                or not isinstance(bounds, list) or len(bounds) != len(names)
                or value.get("num_vars") != len(names)
                or not all(isinstance(b, list) and len(b) == 2
                           and all(isinstance(x, int | float) and not isinstance(x, bool)
                                   and np.isfinite(x) for x in b) and b[0] < b[1]
                           for b in bounds)):
            raise ValueError("not a design's names and bounds")
        return value


def read_manifest(path: Path, resuming: bool = False) -> dict[str, Any]:
    """sweep.json, checked: SweepError naming the file and the problem."""
    from scsim.io.stored_run import RunFolderError, read_json_document

    try:
        return read_json_document(path, SweepManifest).model_dump(mode="json")
    except RunFolderError as exc:
        raise SweepError(f"{exc}; use --force to start again" if resuming else str(exc)) \
            from None


def _same_seed(scenario: dict[str, Any], seed: int) -> str:
    """The SHA-256 of a stored scenario (canonical JSON) with its seed replaced."""
    import hashlib

    changed = dict(scenario, run=dict(scenario["run"], seed=seed))
    return hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()


def completed_run(folder: Path, seed: int, loaded: LoadedScenario,
                  pairing: Counterfactual | None) -> bool:
    """Whether ``folder`` holds a complete, sound run of ``loaded`` (paired with ``pairing``)
    under ``seed``: what --resume may keep."""
    from scsim.io.stored_run import RunFolderError, read_run

    if not (folder / "summary.json").is_file():
        return False
    try:
        run = read_run(folder, ("summary.json", "ledger.json", "run.parquet"),
                       ("ledger.parquet",))
    except RunFolderError:
        return False
    summary = run.summary
    base = loaded.scenario.run.seed
    if summary["seed"] != seed or _same_seed(summary["scenario"], base) != loaded.sha256:
        return False
    stored = summary.get("counterfactual")
    if pairing is None or stored is None:
        return pairing is None and stored is None
    return (stored["label"] == pairing.label
            and _same_seed(stored["scenario"], pairing.scenario.run.seed) == pairing.sha256)


def _done(spec: SweepSpec, point: int, replicate: int) -> bool:
    return completed_run(run_folder(spec.out, point, replicate),
                         replicate_seed(spec.root_seed, replicate), spec.loaded[point],
                         spec.pairings[point])


def prepare(spec: SweepSpec, stored: dict[str, Any] | None) -> set[tuple[int, int]]:
    """The runs already done in the claimed folder, when resuming the same sweep (``stored``:
    its manifest); a resume that differs in anything the results depend on is refused."""
    done: set[tuple[int, int]] = set()
    if stored is not None:
        if stored.get("format") != FORMAT:
            raise SweepError(f"{spec.out / 'sweep.json'}: written by another version of scsim "
                             f"(format {stored.get('format')}, not {FORMAT}), which did not "
                             "record all a resume must match; use --force to start again")
        wanted = _manifest(spec)
        differs = [key for key in IDENTITY if stored.get(key) != wanted[key]]
        if differs:
            raise SweepError(f"{spec.out / 'sweep.json'}: --resume with another "
                             f"{', '.join(differs)} than the sweep started with; use --force "
                             "to start again")
        done = {(p, r) for p in range(len(spec.points)) for r in range(spec.replicates)
                if _done(spec, p, r)}
    return done


def _start(spec: SweepSpec) -> None:
    """The manifest and the design, written once the sweep is about to run."""
    from scsim.io.run_dir import OutputError, write_parquet_atomically, write_text_atomically

    try:
        write_text_atomically(spec.out / "sweep.json",
                              json.dumps(_manifest(spec), indent=2) + "\n", replace=True)
        write_parquet_atomically(pa.table({"point": list(range(len(spec.points))), **{
            v.path: [pt[v.path] for pt in spec.points] for v in spec.varies}}),
            spec.out / "design.parquet", replace=True)
    except OutputError as exc:
        raise SweepError(str(exc)) from None


@dataclass
class SweepOutcome:
    runs: int
    failed: dict[str, str] = field(default_factory=dict)


def run_sweep(spec: SweepSpec, client: Any, done: set[tuple[int, int]],
              progress: Callable[[int, int], None] | None = None) -> SweepOutcome:
    """Run every (point, replicate) not ``done`` yet in the prepared sweep folder (claimed
    with ``experiment_folder``, then ``prepare``); compact the results."""
    from scsim.experiments.cluster import run_tasks
    from scsim.io.run_dir import OutputError, clean_stale_partials

    _start(spec)
    done = set(done)
    total = len(spec.points) * spec.replicates
    todo = [(p, r) for p in range(len(spec.points)) for r in range(spec.replicates)
            if (p, r) not in done]
    outcome = SweepOutcome(runs=len(done))
    if progress is not None:
        progress(outcome.runs, total)

    def report(result: dict[str, Any]) -> None:
        if result["ok"]:
            outcome.runs += 1
            done.add((result["point"], result["replicate"]))
        else:
            outcome.failed[f"point={result['point']}/replicate={result['replicate']}"] = \
                result["error"]
        if progress is not None:
            progress(outcome.runs + len(outcome.failed), total)

    run_tasks(client, [_task(spec, p, r) for p, r in todo], report)
    try:
        compact(spec, sorted(done), outcome)
    except OutputError as exc:
        raise SweepError(str(exc)) from None
    clean_stale_partials(spec.out)
    for point in spec.out.glob("point=*"):
        clean_stale_partials(point)
    return outcome


def compact(spec: SweepSpec, done: list[tuple[int, int]], outcome: SweepOutcome) -> None:
    """results.parquet from the runs' checked run.parquet rows, and the final manifest; a run
    whose row cannot be read is counted as failed, never left out silently."""
    from scsim.io.run_dir import write_parquet_atomically, write_text_atomically
    from scsim.io.stored_run import RunFolderError, read_parquet

    rows = []
    for p, r in done:
        try:
            rows.append(read_parquet(run_folder(spec.out, p, r) / "run.parquet"))
        except RunFolderError as exc:
            outcome.runs -= 1
            outcome.failed[f"point={p}/replicate={r}"] = str(exc)
    results = pa.concat_tables(rows, promote_options="default") if rows else pa.table({})
    write_parquet_atomically(results, spec.out / "results.parquet", replace=True)
    manifest = _manifest(spec) | {"runs_done": outcome.runs, "runs_failed": outcome.failed}
    write_text_atomically(spec.out / "sweep.json", json.dumps(manifest, indent=2) + "\n",
                          replace=True)
