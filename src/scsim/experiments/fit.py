"""Posteriors of a scenario's fitted values by ABC-SMC (pyabc), on the Dask cluster.

A scenario's ``[calibration.fit]`` names the values to fit, each with a
uniform or log-uniform prior over its plausible range; its fitted targets of
the main part (those without ``part``) carry their observation errors.  Each
particle is one simulation (or ``replicates`` of them, on consecutive seeds)
at ``population`` citizens, its counts scaled to the scenario's size; every
particle shares the fit's seed, so particles differ by their values only
(common random numbers).

The distance is the root of the summed squares of each target's log ratio
(simulated over published, times ``natural_persons``) divided by its sigma:
the published figure's error and the sample's Poisson noise, 1/sqrt(n) for
a count the sample expects n of, combined in quadrature (shares add no
noise term).  So a figure known to 5% weighs four times one known to 10%,
and a count of 100 events in the sample cannot pull harder than its noise
allows.

The fit folder holds pyabc's database (``pyabc.db``, from which ``--resume``
continues), ``particles.parquet`` (every generation's particles with their
weights and distances), ``generations.parquet`` (epsilon, acceptance rate,
effective sample size, evaluations and wall time per generation) and
``fit.json`` (the priors, the targets with their sigmas, the controls, and
the command that reproduces the fit).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from scsim.errors import ScsimError

FIT_FILE = "fit.json"
SCENARIO_FILE = "scenario.json"
DATABASE = "pyabc.db"
PARTICLES = "particles.parquet"
GENERATIONS = "generations.parquet"
PREDICTIVE = "predictive.parquet"
PREDICTION = "prediction.parquet"
COUNT_METRICS = frozenset({
    "blacklist_entries_per_year", "recorded_speech_per_year", "repairs_per_year",
    "cumulative_blacklist_entries", "cumulative_travel_blocks", "blacklisted_on", "total",
    "level_on"})
"""Metrics that are scaled counts, whose sample noise is Poisson."""


class FitError(ScsimError):
    """A fit cannot start or go on; the message says why in one line per problem."""

    def __init__(self, lines: str | list[str]):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))


@dataclasses.dataclass(frozen=True)
class Prior:
    """One fitted value: its dotted path, prior shape and range."""

    path: str
    shape: str  # "uniform" or "log-uniform"
    low: float
    high: float
    integer: bool

    def bounds(self) -> tuple[float, float]:
        """The range of pyabc's parameter (the value's log10 for a log-uniform prior)."""
        if self.shape == "log-uniform":
            return math.log10(self.low), math.log10(self.high)
        return self.low, self.high

    def value(self, parameter: float) -> float:
        """The scenario's value for pyabc's parameter."""
        value = 10.0 ** parameter if self.shape == "log-uniform" else parameter
        value = min(max(value, self.low), self.high)
        return round(value) if self.integer else value


@dataclasses.dataclass(frozen=True)
class FitSpec:
    """What to fit and how: the controls of ``scsim fit``."""

    scenario_file: Path
    out: Path
    particles: int = 100
    generations: int = 8
    min_epsilon: float = 0.0
    min_acceptance: float = 0.0
    population: int | None = None
    replicates: int = 1
    seed: int | None = None
    command: str = ""


@dataclasses.dataclass(frozen=True)
class FitPlan:
    """A fit ready to run: the scenario at its population, priors, targets and weights."""

    spec: FitSpec
    scenario: dict[str, Any]  # the validated scenario at the fit's population (JSON-able)
    full_population: int
    seed: int
    priors: list[Prior]
    targets: list[int]  # indices into calibration.targets: the fitted ones of the main part
    sigmas: list[float]
    sha256: str


def plan_fit(spec: FitSpec) -> FitPlan:
    """Check the scenario's fit section and the controls; FitError lists what is wrong."""
    from scsim.scenario.load import ScenarioError, load_scenario, prior_range, value_at

    problems = []
    for name, value, low in (("--particles", spec.particles, 2),
                             ("--generations", spec.generations, 1),
                             ("--replicates", spec.replicates, 1)):
        if value < low:
            problems.append(f"{name}: at least {low} (got {value})")
    if not 0.0 <= spec.min_acceptance < 1.0:
        problems.append(f"--min-acceptance: a rate in [0, 1) (got {spec.min_acceptance:g})")
    if spec.min_epsilon < 0.0:
        problems.append(f"--min-epsilon: at least 0 (got {spec.min_epsilon:g})")
    if problems:
        raise FitError(problems)
    try:
        full = load_scenario(spec.scenario_file)
        overrides: dict[str, Any] = {}
        if spec.population is not None:
            overrides["population.size"] = spec.population
        if spec.seed is not None:
            overrides["run.seed"] = spec.seed
        loaded = load_scenario(spec.scenario_file, overrides)
    except ScenarioError as exc:
        raise FitError(exc.lines()) from None
    s = loaded.scenario
    if s.calibration is None or not s.calibration.fit:
        raise FitError(f"{spec.scenario_file}: calibration.fit: the scenario names no value to "
                       "fit (add [calibration.fit] with a prior for each)")
    priors = []
    for path, fitted in s.calibration.fit.items():
        low, high = prior_range(s, path)
        priors.append(Prior(path, fitted.prior, float(low), float(high),
                            isinstance(value_at(s, path), int)))
    targets = [k for k, t in enumerate(s.calibration.targets)
               if t.role == "fitted" and t.part is None]
    scale = full.scenario.population.size / s.population.size
    sigmas = []
    for k in targets:
        t = s.calibration.targets[k]
        noise = 0.0
        if t.metric in COUNT_METRICS:
            expected = t.published * t.natural_persons / scale
            noise = 1.0 / spec.replicates / max(expected, 1.0)
        sigmas.append(math.sqrt(t.error ** 2 + noise))
    return FitPlan(spec, s.model_dump(mode="json", by_alias=True), full.scenario.population.size,
                   s.run.seed, priors, targets, sigmas, loaded.sha256)


class TargetModel:
    """pyabc's model: a particle's values in, each fitted target's log ratio out.

    Picklable (plain data), so that it travels to Dask workers; the kernel it
    needs is the scenario's, compiled once before the fit fans out."""

    def __init__(self, plan: FitPlan):
        self.scenario = plan.scenario
        self.full_population = plan.full_population
        self.priors = plan.priors
        self.targets = plan.targets
        self.replicates = plan.spec.replicates
        self.seed = plan.seed
        targets = plan.scenario["calibration"]["targets"]
        self.expected = {k: targets[k]["published"] * targets[k].get("natural_persons", 1.0)
                         for k in plan.targets}
        self.half_event = 0.5 * (plan.full_population / plan.scenario["population"]["size"])
        """Half a sample event, scaled: what stands in for a zero count on a log scale."""

    def values(self, parameters: dict[str, float]) -> dict[str, float]:
        """The scenario's values of pyabc's parameters (p0, p1, ...)."""
        return {p.path: p.value(parameters[f"p{i}"]) for i, p in enumerate(self.priors)}

    def simulate(self, values: dict[str, float], seed: int) -> list[float | None]:
        """Every target's simulated figure (scaled) under these values and seed."""
        from scsim.calibration import compare
        from scsim.engine.sim import simulate
        from scsim.scenario.load import set_at, validate_scenario

        dump = json.loads(json.dumps(self.scenario))
        for path, value in values.items():
            set_at(dump, path, value)
        dump["run"]["seed"] = seed
        s = validate_scenario(dump, "fit particle").scenario
        result = simulate(s)
        return [c.simulated for c in compare(result, s.calibration.targets,
                                             self.full_population)]

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        from scsim.scenario.load import ScenarioError

        values = self.values(parameters)
        logs = np.zeros(len(self.targets))
        try:
            for r in range(self.replicates):
                simulated = self.simulate(values, self.seed + r)
                for i, k in enumerate(self.targets):
                    figure = simulated[k]
                    logs[i] += (math.log(max(figure, 0.0) + self.half_event)
                                - math.log(self.expected[k])) if figure is not None else math.nan
        except ScenarioError:  # the values together break a rule (anyway above performance)
            logs[:] = math.nan
        return {f"t{k}": float(x / self.replicates) for k, x in zip(self.targets, logs,
                                                                   strict=True)}


class WeightedLogDistance:
    """sqrt(sum(((x_k - y_k) / sigma_k)^2)) over the fitted targets' log ratios (infinite
    where a particle's values broke a rule)."""

    def __init__(self, plan: FitPlan):
        self.weights = {f"t{k}": 1.0 / s for k, s in zip(plan.targets, plan.sigmas, strict=True)}

    def __call__(self, x: dict[str, float], y: dict[str, float]) -> float:
        total = 0.0
        for name, weight in self.weights.items():
            d = (x[name] - y[name]) * weight
            if math.isnan(d):
                return math.inf
            total += d * d
        return math.sqrt(total)


def observed(plan: FitPlan) -> dict[str, float]:
    """The published figures as the model's summary statistics: every log ratio 0."""
    return {f"t{k}": 0.0 for k in plan.targets}


def _quiet_pyabc() -> None:
    import logging

    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon",
                 "ABC.Adaptation", "ABC.Transition", "ABC.Predictor", "ABC.Sumstat"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_fit(plan: FitPlan, client: Any, workers: int, resume: bool = False,
            progress: Callable[[int, int, int], None] | None = None) -> dict[str, Any]:
    """Run (or continue) the fit into its folder; return what ``fit.json`` holds."""
    import pyabc

    from scsim.experiments.abc_sampler import SeededDaskSampler

    _quiet_pyabc()
    spec = plan.spec
    spec.out.mkdir(parents=True, exist_ok=True)
    prior = pyabc.Distribution(**{
        f"p{i}": pyabc.RV("uniform", low, high - low)
        for i, (low, high) in enumerate(p.bounds() for p in plan.priors)})
    sampler = SeededDaskSampler(client, plan.seed, workers, progress)
    abc = pyabc.ABCSMC(TargetModel(plan), prior, WeightedLogDistance(plan),
                       population_size=spec.particles, sampler=sampler)
    database = f"sqlite:///{(spec.out / DATABASE).resolve()}"
    from scsim.io.run_dir import write_text_atomically

    if resume and (spec.out / DATABASE).exists():
        abc.load(database, 1)
    else:
        write_text_atomically(spec.out / SCENARIO_FILE, json.dumps(plan.scenario) + "\n",
                              replace=True)
        write_text_atomically(spec.out / FIT_FILE,
                              json.dumps(_manifest(plan, 0.0), indent=2) + "\n", replace=True)
        abc.new(database, observed(plan))
    done = abc.history.max_t + 1
    started = time.perf_counter()
    if done < spec.generations:
        abc.run(max_nr_populations=spec.generations - done, minimum_epsilon=spec.min_epsilon,
                min_acceptance_rate=spec.min_acceptance)
    manifest = _manifest(plan, time.perf_counter() - started)
    export(spec.out, plan, abc.history)
    write_text_atomically(spec.out / FIT_FILE, json.dumps(manifest, indent=2) + "\n",
                          replace=True)
    return manifest


RESUME_MUST_MATCH = ("scenario_sha256", "population", "seed", "replicates", "particles",
                     "priors", "targets")
"""What a resumed fit must share with the stored one (the generations and stopping rules
may change: a fit can be continued further)."""


def resume_problems(plan: FitPlan, stored: dict[str, Any]) -> list[str]:
    """Why the stored fit cannot be continued by this plan (empty if it can)."""
    now = _manifest(plan, 0.0)
    return [f"--resume: {key} differs from the stored fit's ({stored.get(key)!r} there, "
            f"{now[key]!r} now); start it again with --force, or choose --out"
            for key in RESUME_MUST_MATCH if json.loads(json.dumps(now[key])) != stored.get(key)]


def _manifest(plan: FitPlan, wall_s: float) -> dict[str, Any]:
    spec = plan.spec
    s = plan.scenario
    return {
        "kind": "fit",
        "scenario_file": str(spec.scenario_file),
        "scenario_sha256": plan.sha256,
        "population": s["population"]["size"],
        "full_population": plan.full_population,
        "seed": plan.seed,
        "replicates": spec.replicates,
        "particles": spec.particles,
        "generations": spec.generations,
        "min_epsilon": spec.min_epsilon,
        "min_acceptance": spec.min_acceptance,
        "priors": [dataclasses.asdict(p) for p in plan.priors],
        "targets": [{"index": k, "source": s["calibration"]["targets"][k]["source"],
                     "error": s["calibration"]["targets"][k]["error"],
                     "error_reason": s["calibration"]["targets"][k]["error_reason"],
                     "sigma": sigma}
                    for k, sigma in zip(plan.targets, plan.sigmas, strict=True)],
        "last_wall_s": wall_s,
        "command": spec.command,
    }


def export(out: Path, plan: FitPlan, history: Any) -> None:
    """particles.parquet and generations.parquet from pyabc's database."""
    from scsim.io.run_dir import write_parquet_atomically

    rows: dict[str, list] = {"generation": [], "particle": [], "weight": [], "distance": []}
    for p in plan.priors:
        rows[p.path] = []
    for t in range(history.max_t + 1):
        frame, weights = history.get_distribution(m=0, t=t)
        distances = history.get_weighted_distances(t=t)["distance"].to_numpy()
        for i in range(len(frame)):
            rows["generation"].append(t)
            rows["particle"].append(i)
            rows["weight"].append(float(weights[i]))
            rows["distance"].append(float(distances[i]))
            for k, p in enumerate(plan.priors):
                rows[p.path].append(float(p.value(frame[f"p{k}"].iloc[i])))
    write_parquet_atomically(pa.table(rows), out / PARTICLES, replace=True)
    populations = history.get_all_populations().sort_values("t")
    gens: dict[str, list] = {"generation": [], "epsilon": [], "evaluations": [], "accepted": [],
                             "acceptance_rate": [], "ess": [], "wall_s": [], "end_time": []}
    previous = None  # the end of the generation before (pyabc's calibration sample: t = -1)
    for _, row in populations.iterrows():
        t = int(row.t)
        end = row.population_end_time
        if t >= 0:
            _, weights = history.get_distribution(m=0, t=t)
            gens["generation"].append(t)
            gens["epsilon"].append(float(row.epsilon))
            gens["evaluations"].append(int(row.samples))
            gens["accepted"].append(int(row.particles))
            gens["acceptance_rate"].append(float(row.particles) / float(row.samples))
            gens["ess"].append(float(1.0 / np.sum(np.asarray(weights) ** 2)))
            gens["wall_s"].append(None if previous is None
                                  else (end - previous).total_seconds())
            gens["end_time"].append(str(end))
        previous = end
    write_parquet_atomically(pa.table(gens), out / GENERATIONS, replace=True)


def reproduce_command(argv: list[str]) -> str:
    """The command line that reproduces a fit, as typed."""
    return shlex.join(["scsim", *argv])


def weighted_quantiles(values: np.ndarray, weights: np.ndarray,
                       quantiles: tuple[float, ...]) -> list[float]:
    """Quantiles of a weighted sample (the inverse of its weighted empirical distribution,
    interpolated between the midpoints of the sorted particles' weights); particles of
    weight 0 are none of it."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    kept = weights > 0
    values, weights = values[kept], weights[kept]
    order = np.argsort(values)
    values, weights = values[order], weights[order]
    cumulative = (np.cumsum(weights) - 0.5 * weights) / weights.sum()
    return [float(np.interp(q, cumulative, values)) for q in quantiles]


# --- the posterior predictive: every target, fitted and held out, with intervals ---

def stored_plan(out: Path) -> FitPlan:
    """The plan of the fit stored in ``out`` (its scenario as it was fitted)."""
    try:
        manifest = json.loads((out / FIT_FILE).read_text())
        scenario = json.loads((out / SCENARIO_FILE).read_text())
        particles = pq_read(out / PARTICLES)
    except (OSError, ValueError) as exc:
        raise FitError(f"{out}: not a finished scsim fit ({exc})") from None
    if particles.num_rows == 0:
        raise FitError(f"{out}: the fit has no generation yet; run it (scsim fit --resume)")
    spec = FitSpec(Path(manifest["scenario_file"]), out, manifest["particles"],
                   manifest["generations"], manifest["min_epsilon"],
                   manifest["min_acceptance"], manifest["population"],
                   manifest["replicates"], manifest["seed"], manifest["command"])
    return FitPlan(spec, scenario, manifest["full_population"], manifest["seed"],
                   [Prior(**p) for p in manifest["priors"]],
                   [t["index"] for t in manifest["targets"]],
                   [t["sigma"] for t in manifest["targets"]], manifest["scenario_sha256"])


def pq_read(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(path)


def posterior_draws(out: Path, plan: FitPlan, draws: int, seed: int) -> list[dict[str, float]]:
    """``draws`` particles of the last generation, drawn with their weights (with
    replacement, under ``seed``)."""
    particles = pq_read(out / PARTICLES).to_pandas()
    last = particles[particles.generation == particles.generation.max()]
    weights = last.weight.to_numpy() / last.weight.sum()
    chosen = np.random.default_rng([seed, 2]).choice(len(last), size=draws, p=weights)
    return [{p.path: float(last[p.path].iloc[i]) for p in plan.priors} for i in chosen]


def _predict_one(model: TargetModel, values: dict[str, float], seed: int) -> list[float | None]:
    return model.simulate(values, seed)


def run_predict(out: Path, client: Any, draws: int, seeds: int,
                progress: Callable[[int, int], None] | None = None) -> pa.Table:
    """The posterior predictive ensemble: ``draws`` posterior draws x ``seeds`` seeds, each
    simulated on the cluster; per target the median, 50% and 90% intervals, and whether the
    published figure (times natural_persons) falls inside.  Writes predictive.parquet (each
    simulation) and prediction.parquet (each target) into the fit folder."""
    from distributed import as_completed

    from scsim.io.run_dir import write_parquet_atomically

    plan = stored_plan(out)
    model = TargetModel(plan)
    chosen = posterior_draws(out, plan, draws, plan.seed)
    jobs = [(d, plan.seed + 1000 + r) for d in range(draws) for r in range(seeds)]
    futures = {client.submit(_predict_one, model, chosen[d], seed, pure=False): (d, seed)
               for d, seed in jobs}
    figures: dict[tuple[int, int], list[float | None]] = {}
    for k, future in enumerate(as_completed(futures), 1):
        figures[futures[future]] = future.result()
        if progress is not None:
            progress(k, len(jobs))
    targets = plan.scenario["calibration"]["targets"]
    rows: dict[str, list] = {"draw": [], "seed": [], "target": [], "simulated": []}
    for p in plan.priors:
        rows[p.path] = []
    for (d, seed), values in sorted(figures.items()):
        for k, value in enumerate(values):
            rows["draw"].append(d)
            rows["seed"].append(seed)
            rows["target"].append(k)
            rows["simulated"].append(value)
            for p in plan.priors:
                rows[p.path].append(chosen[d][p.path])
    write_parquet_atomically(pa.table(rows), out / PREDICTIVE, replace=True)
    summary: dict[str, list] = {
        "target": [], "metric": [], "on": [], "role": [], "part": [], "published": [],
        "expected": [], "median": [], "q05": [], "q25": [], "q75": [], "q95": [],
        "inside_50": [], "inside_90": [], "simulations": [], "source": []}
    for k, target in enumerate(targets):
        values = np.array([v[k] for v in figures.values() if v[k] is not None], dtype=float)
        expected = target["published"] * target.get("natural_persons", 1.0)
        q05, q25, q50, q75, q95 = (np.quantile(values, (0.05, 0.25, 0.5, 0.75, 0.95))
                                   if len(values) else [math.nan] * 5)
        for name, value in (("target", k), ("metric", target["metric"]),
                            ("on", target.get("on")), ("role", target.get("role", "fitted")),
                            ("part", target.get("part")), ("published", target["published"]),
                            ("expected", expected), ("median", q50), ("q05", q05),
                            ("q25", q25), ("q75", q75), ("q95", q95),
                            ("inside_50", bool(q25 <= expected <= q75)),
                            ("inside_90", bool(q05 <= expected <= q95)),
                            ("simulations", len(values)), ("source", target["source"])):
            summary[name].append(value)
    table = pa.table(summary)
    write_parquet_atomically(table, out / PREDICTION, replace=True)
    return table
