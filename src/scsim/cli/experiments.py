"""``scsim ensemble``: one scenario under many seeds, on Dask."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from scsim import numbers
from scsim.cli.common import (
    AddOption,
    SetOption,
    _check_memory,
    _load,
    _load_counterfactual,
    _write_text_atomically,
    app,
    console,
    err_console,
    fail,
)
from scsim.errors import ScsimError


class RunsPerMinute(ProgressColumn):
    """Finished runs per minute, from Rich's own speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-" if not speed else f"{numbers.rate(speed * 60)} runs/min", style="cyan")


def _bar(label: str, quiet: bool) -> Progress:
    """Runs done of planned, rate and ETA, in 80 columns."""
    return Progress(TextColumn(label, style="bold"), BarColumn(bar_width=16),
                    TaskProgressColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f}"),
                    RunsPerMinute(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                    disable=quiet)


def _check_fits(loaded, pairing, scheduler: str | None, workers: int | None) -> None:
    """The local cluster runs one run per worker at once: all of them must fit in memory."""
    from scsim.engine.memory import (
        USABLE_FRACTION,
        available_memory,
        estimate_memory,
        format_bytes,
    )
    from scsim.experiments.cluster import ClusterError, default_workers

    if scheduler is not None:
        return  # the remote workers' memory is theirs to know
    try:
        n = workers or default_workers()
    except ClusterError as exc:
        raise fail(str(exc)) from None
    need = n * estimate_memory(loaded.scenario, 1,
                               pairing.scenario if pairing else None).total
    budget = int(available_memory() * USABLE_FRACTION)
    if need > budget:
        raise fail(f"{loaded.source}: population.size: {n} workers running "
                   f"{loaded.scenario.population.size:,} citizens each need about "
                   f"{format_bytes(need)}, but only {format_bytes(budget)} may be used; use "
                   "fewer --workers or a smaller --population")


def _fraction(text: str) -> float:
    """'5%' or '0.05' as 0.05."""
    try:
        value = float(text[:-1]) / 100 if text.strip().endswith("%") else float(text)
    except ValueError:
        raise fail(f"--until-halfwidth: expected a share such as 5% or 0.05, got {text!r}") \
            from None
    if not 0 < value < 1:
        raise fail(f"--until-halfwidth: must be between 0 and 100%, got {text!r}")
    return value


PopulationOption = Annotated[int | None, typer.Option(help="Override population.size.")]
DaysOption = Annotated[int | None, typer.Option(help="Override run.days.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
ResumeOption = Annotated[bool, typer.Option("--resume", help="Continue an interrupted "
                                            "experiment in OUT, skipping finished runs.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Start the experiment in OUT "
                                           "again.")]
SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", metavar="tcp://HOST:PORT",
                 help="Run on an existing Dask cluster instead of an embedded local one."),
]
PosteriorOption = Annotated[
    Path | None,
    typer.Option("--posterior", metavar="FIT", help="Draw the fitted values from this fit's "
                 "posterior (scsim fit): one draw per replicate."),
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, max=256, help="Worker processes of the local cluster "
                 "(default: SCSIM_WORKERS if set, else one per core; at most 256; results "
                 "do not depend on it)."),
]


@app.command()
def ensemble(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    replicates: Annotated[int, typer.Option(min=2, help="Replicates to run (seeds derived "
                                            "from --seed).")] = 10,
    seed: Annotated[int | None, typer.Option(help="Root seed (default: the file's run.seed).")
                    ] = None,
    population: PopulationOption = None,
    days: DaysOption = None,
    counterfactual: Annotated[
        str | None, typer.Option("--counterfactual", metavar="none|FILE",
                                 help="Pair every replicate (see scsim run).")
    ] = None,
    until_halfwidth: Annotated[
        str | None, typer.Option("--until-halfwidth", metavar="SHARE",
                                 help="Add replicates until every headline quantity's 95% "
                                 "interval is within this share of its mean (e.g. 5%).")
    ] = None,
    max_replicates: Annotated[
        int | None, typer.Option(min=2, help="With --until-halfwidth: stop here (default "
                                 "10 x --replicates).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Ensemble folder (default "
                                  "runs/NAME-ensemble-seedROOT-HASH).")
    ] = None,
    posterior: PosteriorOption = None,
    resume: ResumeOption = False,
    force: ForceOption = False,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    quiet: QuietOption = False,
    set_: SetOption = None,
    add: AddOption = None,
) -> None:
    """Run SCENARIO under many seeds; summarise every ledger quantity across them.  With
    --posterior, each replicate also draws the fitted values from a fit's posterior, so the
    spread is of parameter and seed uncertainty together."""
    from scsim.experiments.cluster import open_client
    from scsim.experiments.design import MAX_REPLICATES
    from scsim.experiments.ensemble import (
        EnsembleSpec,
        prepare,
        read_manifest,
        run_ensemble,
    )
    from scsim.io.run_dir import RUNS, default_run_folder

    _refuse_task_sets(set_, add, scenario)
    loaded = _load(scenario, None, population, days, set_, add)
    pairing = (_load_counterfactual(counterfactual, loaded, None, population, days)
               if counterfactual is not None else None)
    _check_memory(loaded, pairing)
    _check_fits(loaded, pairing, scheduler, workers)
    target = _fraction(until_halfwidth) if until_halfwidth is not None else None
    root = seed if seed is not None else loaded.scenario.run.seed
    if max_replicates is not None and max_replicates < replicates:
        raise fail(f"--max-replicates: {max_replicates} is below --replicates {replicates}")
    if max(replicates, max_replicates or 0) > MAX_REPLICATES:
        raise fail(f"--replicates, --max-replicates: at most {MAX_REPLICATES:,}")
    if out is None:
        single = default_run_folder(loaded, pairing).name
        name, _, rest = single.partition("-seed")
        out = RUNS / f"{name}-ensemble-seed{root}-{rest.rpartition('-')[2]}"
    limit = min(max_replicates or 10 * replicates, MAX_REPLICATES)
    spec = EnsembleSpec(loaded, pairing, out, root, replicates, target,
                        limit if target is not None else None,
                        _read_posterior(posterior, loaded) if posterior is not None else None)
    bar = _bar("replicates", quiet)
    from scsim.experiments.report import ensemble_report

    try:
        with _claimed(spec.out, "ensemble.json", "ensemble", resume, force,
                      read_manifest) as stored:
            done = prepare(spec, stored)  # (a resume that does not match is refused here)
            with bar, open_client(scheduler, workers) as client:
                task = bar.add_task("replicates", total=replicates)
                workers_now = max(1, len(client.scheduler_info().get("workers", {})))
                outcome = run_ensemble(
                    spec, client, done, batch=max(2, workers_now),
                    progress=lambda done, total: bar.update(task, completed=done, total=total))
            _write_text_atomically(spec.out / "report.html", ensemble_report(spec.out), True)
    except ScsimError as exc:  # (the cluster, the ensemble, its files)
        raise fail(str(exc)) from None
    if not quiet:
        _print_outcome(spec, outcome)
    _exit_if_failed({f"replicate={r}": why for r, why in outcome.failed.items()})


def _print_posterior_outcome(spec, outcome, summary: list[dict]) -> None:
    """The headline with 90% intervals of parameter and seed uncertainty, and the weighing."""
    import json

    from scsim.experiments.ensemble import HEADLINE

    n = len(outcome.done)
    table = Table(title=f"{spec.loaded.scenario.name}: {n} replicates, each a draw from the "
                  "posterior", show_edge=False)
    for column in ("quantity", "is", "median", "5%", "95%"):
        table.add_column(column, justify="left" if column in ("quantity", "is") else "right",
                         overflow="fold")
    rows = [r for r in summary if r["group"] == "all"]
    rows.sort(key=lambda r: (r["quantity"] not in HEADLINE, HEADLINE.index(r["quantity"])
                             if r["quantity"] in HEADLINE else 0))
    short = {"level": "level", "paired difference": "diff", "paired comparison": "comp",
             "counterfactual level": "cf"}
    for row in rows:
        table.add_row(row["quantity"], short.get(row["measure"], row["measure"]),
                      *(numbers.large(row[k]) for k in ("median", "p05", "p95")))
    console.print(table)
    console.print("is: level (the run's own count), diff (paired difference against the "
                  "counterfactual), comp (paired comparison against the same citizens "
                  "without false records), cf (a level of the counterfactual)", markup=False)
    console.print(f"90% interval: the 5th to 95th percentile of {n} replicates, each with "
                  f"its fitted values drawn from the posterior of {spec.posterior.folder} and "
                  "its own seed: parameter and seed uncertainty together"
                  + (" (under 20 replicates the 5th and 95th percentiles are interpolated "
                     "between the extremes: add --replicates)" if n < 20 else ""),
                  markup=False)
    weighing = json.loads((spec.out / "ensemble.json").read_text()).get("weighing") or []
    shown = [w for w in weighing if w["median"] and w["harm"] in HEADLINE]
    if shown:
        console.print("each headline harm per unit of each benefit (median, 90% interval; "
                      "every pair in ensemble.json and report.html):", markup=False)
        for w in shown:
            console.print(f"  {w['harm']} per {w['benefit']}: {numbers.rate(w['median'])} "
                          f"({numbers.rate(w['p05'])} to {numbers.rate(w['p95'])}; divided in "
                          f"{w['divided_in']} of {w['replicates']})", markup=False)
    console.print(f"wrote {spec.out}/: ensemble.json, ensemble.parquet, results.parquet, "
                  f"report.html and {n} replicate folders")


def _read_posterior(folder: Path, loaded):
    """The fit's posterior, checked against the scenario that will take its draws."""
    from scsim.experiments.posterior import check_applies, read_posterior

    try:
        posterior = read_posterior(folder)
        check_applies(posterior, loaded.scenario, loaded.source)
    except ScsimError as exc:
        raise fail(str(exc)) from None
    return posterior


def _print_outcome(spec, outcome) -> None:
    import pyarrow.parquet as pq

    summary = pq.read_table(spec.out / "ensemble.parquet").to_pylist()
    if spec.posterior is not None:
        _print_posterior_outcome(spec, outcome, summary)
        return
    table = Table(title=f"{spec.loaded.scenario.name}: {len(outcome.done)} replicates, all "
                  "citizens", show_edge=False)
    for column in ("quantity (measure)", "mean", "95% interval of the mean",
                   "10th-90th pct of replicates", "seed noise"):
        first = column.startswith("quantity")
        table.add_column(column, justify="left" if first else "right", overflow="fold",
                         no_wrap=first)
    for row in summary:
        if row["group"] != "all":
            continue
        interval = ("n/a" if row["t95_low"] is None else
                    f"{numbers.rate(row['t95_low'])} to {numbers.rate(row['t95_high'])}")
        noise = row["relative_seed_noise"]
        table.add_row(f"{row['quantity']} ({row['measure']})", numbers.rate(row["mean"]),
                      interval, f"{numbers.rate(row['p10'])} to {numbers.rate(row['p90'])}",
                      "n/a" if noise is None else f"{noise:.1%}")
    console.print(table)
    console.print("seed noise: the replicates' standard deviation over their mean; the "
                  "10th-90th percentiles are their spread, not an interval of the mean")
    if spec.until_halfwidth is not None:
        target = spec.until_halfwidth
        if outcome.target_met:
            console.print(f"every headline quantity is within ±{target:.1%} of its mean "
                          f"after {len(outcome.done)} replicates")
        else:
            short = ", ".join(f"{q} {'n/a' if w is None else f'±{w:.1%}'}"
                              for q, w in outcome.widths.items() if w is None or w > target)
            console.print(f"stopped at {len(outcome.done)} replicates (--max-replicates) "
                          f"before every headline quantity reached ±{target:.1%}: {short}")
    console.print(f"wrote {spec.out}/: ensemble.json, ensemble.parquet, results.parquet, "
                  f"report.html and {len(outcome.done)} replicate folders")


WORLD_PREFIXES = ("behaviours.", "population.")


def _world_note(spec) -> None:
    """Say which varied values are the world's: changing them changes the draws."""
    world = [v.path for v in spec.varies if v.path.startswith(WORLD_PREFIXES)]
    if world:
        console.print(f"note: {', '.join(world)} {'is' if len(world) == 1 else 'are'} part of "
                      "the world: changing a behaviour rate or the population changes the "
                      "citizens' draws, so between points that differ in it the runs do not "
                      "share every random number (seed noise enters those comparisons)",
                      markup=False)


@contextlib.contextmanager
def _claimed(out: Path, manifest: str, kind: str, resume: bool, force: bool,
             read_manifest) -> Iterator[dict | None]:
    """The experiment folder, claimed and locked for the whole block (one line if not)."""
    from scsim.io.run_dir import OutputError, experiment_folder

    try:
        with experiment_folder(out, manifest, kind, resume=resume, force=force,
                               read_manifest=read_manifest) as stored:
            yield stored
    except OutputError as exc:
        raise fail(str(exc)) from None


def _refuse_task_sets(sets: list[str] | None, adds: list[str] | None, source: Path) -> None:
    """An experiment sets every run's seed itself: --set run.seed would change nothing."""
    from scsim.experiments.sweep import TASK_SETS

    for text in [*(sets or []), *(adds or [])]:
        path = text.partition("=")[0].strip()
        if path in TASK_SETS:
            raise fail(f"{source}: {path}: {TASK_SETS[path]}")


def _exit_if_failed(failed: dict[str, str]) -> None:
    """Runs that failed are said on stderr, and the command exits with status 1."""
    if not failed:
        return
    for where, why in sorted(failed.items()):
        err_console.print(f"error: {where} failed: {why}")
    err_console.print(f"error: {len(failed)} run{'s' if len(failed) > 1 else ''} failed; the "
                      "results summarise the others (fix the cause and --resume)")
    raise typer.Exit(1)


def _execute(spec, scheduler: str | None, workers: int | None, *, resume: bool, force: bool,
             quiet: bool, after=None):
    """Run a planned sweep in its claimed folder on the cluster with a progress bar, then
    ``after(outcome)`` (reports, rankings) while the folder is still locked."""
    from scsim.experiments.cluster import open_client
    from scsim.experiments.sweep import prepare, read_manifest, run_sweep

    if not quiet:
        _world_note(spec)
    bar = _bar("runs", quiet)
    try:
        with _claimed(spec.out, "sweep.json", spec.kind, resume, force,
                      lambda path: read_manifest(path, resuming=True)) as stored:
            done = prepare(spec, stored)  # (a resume that does not match is refused here)
            with bar, open_client(scheduler, workers) as client:
                task = bar.add_task("runs", total=len(spec.points) * spec.replicates)
                outcome = run_sweep(spec, client, done,
                                    progress=lambda done, n: bar.update(task, completed=done))
            if after is not None:
                after(outcome)
    except ScsimError as exc:  # (the cluster, the sweep, its files)
        raise fail(str(exc)) from None
    return outcome


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="A scenario file, or an experiment file (TOML "
                                         "naming scenario, [[vary]], design, ...).")],
    vary: Annotated[
        list[str] | None, typer.Option("--vary", metavar="PATH=LO:HI|PATH=v1,v2",
                                       help="A parameter to vary (repeatable).")
    ] = None,
    design: Annotated[str, typer.Option(help="grid, lhs, sobol or morris.")] = "lhs",
    samples: Annotated[int, typer.Option(help="Grid: values per range; LHS: points; Sobol: "
                                         "base samples N (N (D + 2) points); Morris: "
                                         "trajectories (N (D + 1) points).")] = 8,
    replicates: Annotated[int, typer.Option(min=1, help="Replicates per point (the same "
                                            "seeds at every point).")] = 1,
    seed: Annotated[int | None, typer.Option(help="Root seed of the replicates and the "
                                             "design (default: the file's run.seed).")] = None,
    population: PopulationOption = None,
    days: DaysOption = None,
    counterfactual: Annotated[
        str | None, typer.Option("--counterfactual", metavar="none|FILE",
                                 help="Pair every run (see scsim run).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Sweep folder (default "
                                             "runs/NAME-sweep-DESIGN-seedROOT).")] = None,
    resume: ResumeOption = False,
    force: ForceOption = False,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    quiet: QuietOption = False,
    set_: SetOption = None,
) -> None:
    """Run a design of parameter values, each point under the same replicate seeds."""
    from scsim.cli.common import _parse_sets, _world_overrides
    from scsim.experiments.design import DesignError, parse_vary
    from scsim.experiments.sweep import (
        SweepError,
        SweepSpec,
        is_experiment,
        plan,
        read_experiment,
        varies_of,
    )
    from scsim.io.run_dir import RUNS, slug
    from scsim.scenario.load import ScenarioError

    try:
        if is_experiment(file):
            if vary:
                raise SweepError(f"{file}: an experiment file says what varies; drop --vary")
            experiment = read_experiment(file)
            scenario_file = (file.parent / experiment.scenario)
            varies = varies_of(experiment)
            fixed = dict(experiment.set) | _world_overrides(None, experiment.population,
                                                            experiment.days)
            design, samples, replicates = (experiment.design, experiment.samples,
                                           experiment.replicates)
            seed = experiment.seed if experiment.seed is not None else seed
            counterfactual = experiment.counterfactual
            if counterfactual not in (None, "none"):
                counterfactual = str(file.parent / counterfactual)
        else:
            scenario_file = file
            varies = [parse_vary(text) for text in vary or []]
            fixed = _parse_sets(set_, str(file)) | _world_overrides(None, population, days)
        if seed is None:
            from scsim.scenario.load import load_scenario

            seed = load_scenario(scenario_file, fixed).scenario.run.seed
        name = slug(scenario_file.stem)
        target = out or RUNS / f"{name}-sweep-{design}-seed{seed}"
        spec = plan(SweepSpec(scenario_file, fixed, varies, design, samples, replicates, seed,
                              counterfactual, target))
    except (SweepError, DesignError) as exc:
        raise fail(str(exc)) from None
    except ScenarioError as exc:  # loading the base scenario for its seed
        raise fail(exc.lines()) from None
    _check_fits(spec.loaded[0], spec.pairings[0], scheduler, workers)
    total = len(spec.points) * spec.replicates
    if not quiet:
        console.print(f"{spec.design} design: {len(spec.points):,} points x "
                      f"{spec.replicates} replicates = {total:,} runs of "
                      f"{spec.loaded[0].scenario.population.size:,} citizens")
    from scsim.experiments.report import sweep_report

    outcome = _execute(spec, scheduler, workers, resume=resume, force=force, quiet=quiet,
                       after=lambda _: _write_text_atomically(
                           spec.out / "report.html", sweep_report(spec.out), True))
    if not quiet:
        console.print(f"wrote {spec.out}/: sweep.json, design.parquet, results.parquet, "
                      f"report.html and {outcome.runs:,} run folders"
                      + (f" ({len(outcome.failed)} failed)" if outcome.failed else ""))
    _exit_if_failed(outcome.failed)


@app.command()
def analyze(
    sweep_folder: Annotated[Path, typer.Argument(help="A sweep folder (scsim sweep).")],
    output: Annotated[str, typer.Option("--output", help="The ledger quantity (e.g. "
                                        "false_records).")],
    group: Annotated[str | None, typer.Option(help="One group's total instead of "
                                              "everyone's.")] = None,
) -> None:
    """Sensitivity indices (Sobol S1/ST or Morris mu*/sigma, with 95% intervals) of a sweep."""
    import json

    from scsim.experiments.report import sweep_report
    from scsim.experiments.sensitivity import CONSTANT_OUTPUT_NOTE
    from scsim.experiments.sensitivity import analyze as indices
    from scsim.io.run_dir import locked_folder, write_parquet_atomically
    from scsim.plots import save, sensitivity_figure

    if not (sweep_folder / "sweep.json").is_file():
        raise fail(f"{sweep_folder}: not a sweep folder (no sweep.json)")
    try:
        with locked_folder(sweep_folder, "sweep"):  # not while a sweep runs or resumes there
            table, about = indices(sweep_folder, output, group)
            stem = Path(str(sweep_folder / f"sensitivity-{output}")
                        + ("" if group is None else f"-{group}"))
            write_parquet_atomically(table, stem.with_suffix(".parquet"), replace=True)
            _write_text_atomically(stem.with_suffix(".json"),
                                   json.dumps(about, indent=2) + "\n", True)
            save(sensitivity_figure(table, about), stem)
            _write_text_atomically(sweep_folder / "report.html", sweep_report(sweep_folder),
                                   True)
    except ScsimError as exc:  # (the analysis, the sweep's files, the outputs)
        raise fail(str(exc)) from None
    shown = Table(title=f"{about['output']} ({about['group']}): {about['design']} indices, "
                  f"{about['points']} points x {about['replicates']} replicates",
                  show_edge=False)
    for column in table.column_names:
        shown.add_column(column, justify="left" if column == "parameter" else "right",
                         overflow="fold")
    for row in table.to_pylist():
        shown.add_row(*(v if isinstance(v, str) else f"{v:.3f}" for v in row.values()))
    console.print(shown)
    if about["constant_output"]:
        console.print(CONSTANT_OUTPUT_NOTE)
    noise = about["seed_noise_share"]
    console.print("seed noise: " + ("n/a (one replicate per point)" if noise is None else
                                    f"{noise:.1%} of the output's variance between runs")
                  + "; the indices are of the replicate means; intervals 95% (bootstrap)")
    console.print(f"wrote {stem}.parquet, .json, .png and .svg, and {sweep_folder}/report.html")


@app.command()
def screen(
    scenario: Annotated[Path, typer.Argument(help="A scenario with a [sources] table.")],
    samples: Annotated[int, typer.Option(min=2, help="Morris trajectories (points: "
                                         "trajectories x (assumptions + 1)).")] = 4,
    replicates: Annotated[int, typer.Option(min=1, help="Replicates per point.")] = 1,
    seed: Annotated[int | None, typer.Option(help="Root seed (default: the file's run.seed).")
                    ] = None,
    population: PopulationOption = None,
    days: DaysOption = None,
    counterfactual: Annotated[
        str, typer.Option("--counterfactual", metavar="none|FILE|unpaired",
                          help="Pair every run (default none: the same world without the "
                          "system), or 'unpaired'.")
    ] = "none",
    top: Annotated[int, typer.Option(min=1, help="Assumptions shown per headline quantity.")
                   ] = 3,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Screening folder (default "
                                             "runs/NAME-screen-seedROOT).")] = None,
    resume: ResumeOption = False,
    force: ForceOption = False,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    quiet: QuietOption = False,
    set_: SetOption = None,
    refit: Annotated[bool, typer.Option("--refit", help="Also refit the [calibration.fit] "
                                        "values at every point and screen again with them: "
                                        "which assumptions move the headlines while the "
                                        "targets hold.")] = False,
    refit_budget: Annotated[int, typer.Option(min=5, max=2000, help="With --refit: "
                                              "simulations per point's refit.")] = 40,
) -> None:
    """Screen every ASSUMPTION of SCENARIO (Morris) and name those that move each headline."""
    from scsim.cli.common import _parse_sets, _world_overrides
    from scsim.experiments.screen import rank_assumptions, screening_spec
    from scsim.experiments.sweep import SweepError, plan
    from scsim.io.run_dir import RUNS, slug
    from scsim.scenario.load import ScenarioError, load_scenario

    fixed = _parse_sets(set_, str(scenario)) | _world_overrides(None, population, days)
    try:
        root = seed if seed is not None else load_scenario(scenario, fixed).scenario.run.seed
        target = out or RUNS / f"{slug(scenario.stem)}-screen-seed{root}"
        pairing = None if counterfactual == "unpaired" else counterfactual
        spec = plan(screening_spec(scenario, fixed, samples, replicates, root, pairing, target,
                                   refitted=refit))
    except SweepError as exc:
        raise fail(str(exc)) from None
    except ScenarioError as exc:
        raise fail(exc.lines()) from None
    base_fit = _refit_plan(scenario, spec, root) if refit else None
    _check_fits(spec.loaded[0], spec.pairings[0], scheduler, workers)
    total = len(spec.points) * spec.replicates
    if not quiet:
        console.print(f"screening {len(spec.varies)} assumptions: Morris, {samples} "
                      f"trajectories, {len(spec.points):,} points x {replicates} replicates = "
                      f"{total:,} runs of {spec.loaded[0].scenario.population.size:,} citizens")
        if base_fit is not None:
            console.print(f"then refitting {len(base_fit.priors)} fitted values at each point "
                          f"(up to {refit_budget} simulations each) and screening again: "
                          f"{total:,} more runs", markup=False)
    from scsim.experiments.report import sweep_report

    ranked = []

    def rank(outcome) -> None:
        if not outcome.failed:  # indices need every run
            ranked.append(rank_assumptions(spec.out))
        _write_text_atomically(spec.out / "report.html", sweep_report(spec.out), True)

    outcome = _execute(spec, scheduler, workers, resume=resume, force=force, quiet=quiet,
                       after=rank)
    _exit_if_failed(outcome.failed)
    table = ranked[0]
    if base_fit is not None:
        _screen_with_refits(spec, base_fit, refit_budget, table, scheduler, workers, resume,
                            quiet, top)
        return
    shown = Table(title="The assumptions that move each headline figure most (Morris mu*: "
                  "mean absolute effect across its plausible range, 95% interval)",
                  show_edge=False)
    for column in ("quantity", "rank", "assumption", "mu*", "sigma"):
        shown.add_column(column, justify="right" if column in ("rank", "mu*", "sigma")
                         else "left", overflow="fold")
    for quantity in dict.fromkeys(table.column("quantity").to_pylist()):
        rows = [r for r in table.to_pylist() if r["quantity"] == quantity and r["mu_star"] > 0]
        if not rows:
            shown.add_row(quantity, "-", "none moves it (the same in every run)", "0", "0")
        for row in rows[:top]:
            shown.add_row(quantity if row["rank"] == 1 else "", str(row["rank"]),
                          row["parameter"], f"{numbers.rate(row['mu_star'])} ± "
                          f"{numbers.rate(row['mu_star_conf'])}", numbers.rate(row["sigma"]))
    console.print(shown)
    console.print("mu* is in the quantity's own units (citizens, posts, yuan); an interval "
                  "that reaches 0 cannot tell the assumption from seed noise")
    console.print(f"wrote {spec.out}/screen.parquet (every assumption, ranked per quantity)")


def _refit_plan(scenario: Path, spec, root: int):
    """The fit every point of a screening refits (one line, exit 2, if there is none)."""
    from scsim.experiments.fit import FitSpec, plan_fit

    try:
        return plan_fit(FitSpec(scenario, spec.out,
                                population=spec.loaded[0].scenario.population.size, seed=root))
    except ScsimError as exc:
        raise fail([f"--refit: {line}" for line in str(exc).splitlines()]) from None


def _screen_with_refits(spec, base_fit, budget: int, plain, scheduler, workers, resume: bool,
                        quiet: bool, top: int) -> None:
    """Refit every point, screen again at the refitted values, and set both side by side."""
    from scsim.experiments.cluster import open_client
    from scsim.experiments.refit import (
        MOSTLY_BY_BREAKING,
        WHILE_HELD,
        compare_screens,
        hold_threshold,
        refitted_spec,
        run_refits,
    )
    from scsim.experiments.report import sweep_report
    from scsim.experiments.screen import rank_assumptions

    bar = _bar("refits", quiet)
    try:
        with bar, open_client(scheduler, workers) as client:
            task = bar.add_task("refits", total=len(spec.points))
            refits = run_refits(spec, base_fit, budget, client,
                                lambda done, total: bar.update(task, completed=done))
    except ScsimError as exc:
        raise fail(str(exc)) from None
    again = refitted_spec(spec, refits)
    ranked = []

    def rank(outcome) -> None:
        if not outcome.failed:
            ranked.append(rank_assumptions(again.out))
        _write_text_atomically(again.out / "report.html", sweep_report(again.out), True)

    outcome = _execute(again, scheduler, workers, resume=resume, force=False,
                       quiet=quiet, after=rank)
    _exit_if_failed(outcome.failed)
    table = compare_screens(plain, ranked[0], spec.out)
    _write_text_atomically(spec.out / "report.html", sweep_report(spec.out), True)
    if quiet:
        return
    shown = Table(title="Each headline's assumptions, screened as they are and refitted "
                  "(Morris mu*)", show_edge=False)
    for column in ("quantity", "assumption", "mu*", "refitted", "effect"):
        shown.add_column(column, justify="right" if column in ("mu*", "refitted") else "left",
                         overflow="fold")
    short = {WHILE_HELD: "holds", MOSTLY_BY_BREAKING: "breaks"}
    rows = table.to_pylist()
    for quantity in dict.fromkeys(r["quantity"] for r in rows):
        mine = sorted((r for r in rows if r["quantity"] == quantity
                       and max(r["mu_star"], r["mu_star_refitted"]) > 0),
                      key=lambda r: -max(r["mu_star"], r["mu_star_refitted"]))[:top]
        if not mine:
            shown.add_row(quantity, "none moves it (the same in every run)", "0", "0", "-")
        for k, r in enumerate(mine):
            shown.add_row(quantity if k == 0 else "", r["parameter"],
                          numbers.rate(r["mu_star"]), numbers.rate(r["mu_star_refitted"]),
                          short.get(r["verdict"], "-"))
    console.print(shown)
    held = sum(r["held"] for r in refits)
    console.print(f"effect: holds = {WHILE_HELD} (half or more of its mu* survives the "
                  f"refits); breaks = {MOSTLY_BY_BREAKING}; - = no interval of mu* clear of 0",
                  markup=False)
    console.print(f"the refits held the targets at {held} of {len(refits)} points (distance at "
                  f"most {hold_threshold(len(base_fit.targets)):.2g}); "
                  + ("where they did not, the point ran at its best values found, "
                     f"listed in {spec.out / 'refits.parquet'}" if held < len(refits) else
                     "every point ran at its refitted values"), markup=False)
    console.print(f"wrote {spec.out}/screen-refit.parquet, refits.parquet and refitted/",
                  markup=False)
