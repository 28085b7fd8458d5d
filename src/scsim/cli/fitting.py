"""``scsim fit``: posteriors of a scenario's fitted values by ABC-SMC, on Dask."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from scsim import numbers
from scsim.cli.common import app, console, fail
from scsim.cli.experiments import (
    ForceOption,
    QuietOption,
    ResumeOption,
    SchedulerOption,
    WorkersOption,
    _claimed,
)
from scsim.errors import ScsimError


def _read_fit_manifest(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: cannot read the fit's manifest ({exc})") from None


@app.command()
def fit(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML) with "
                                             "[calibration.fit].")],
    particles: Annotated[int, typer.Option(help="Particles per generation.")] = 100,
    generations: Annotated[int, typer.Option(help="Generations at most (pyabc's "
                                             "populations).")] = 8,
    min_epsilon: Annotated[float, typer.Option(help="Stop once epsilon (the acceptance "
                                               "distance) is at most this.")] = 0.0,
    min_acceptance: Annotated[float, typer.Option(help="Stop once a generation accepts less "
                                                  "than this share of its proposals.")] = 0.0,
    population: Annotated[int | None, typer.Option(
        help="Citizens per simulation (counts are scaled to the file's population.size).")
    ] = None,
    replicates: Annotated[int, typer.Option(help="Seeds per particle, averaged (the sample "
                                            "noise in the distance shrinks with them).")] = 1,
    seed: Annotated[int | None, typer.Option(help="The fit's seed: every particle's "
                                             "simulations and pyabc's draws (default: the "
                                             "file's run.seed).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Fit folder (default "
                                             "runs/NAME-fit-seedSEED).")] = None,
    resume: ResumeOption = False,
    force: ForceOption = False,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    quiet: QuietOption = False,
) -> None:
    """Fit SCENARIO's [calibration.fit] values to its fitted targets by ABC-SMC (pyabc) on
    an embedded Dask cluster or --scheduler: a posterior, not a point."""
    from scsim.experiments.cluster import default_workers, open_client
    from scsim.experiments.fit import FitSpec, plan_fit, reproduce_command, run_fit
    from scsim.io.run_dir import RUNS, slug

    spec = FitSpec(scenario, out or Path("."), particles, generations, min_epsilon,
                   min_acceptance, population, replicates, seed,
                   reproduce_command(sys.argv[1:]))
    try:
        plan = plan_fit(spec)
    except ScsimError as exc:
        raise fail(str(exc).splitlines()) from None
    if out is None:
        import dataclasses

        out = RUNS / f"{slug(plan.scenario['name'])}-fit-seed{plan.seed}"
        plan = dataclasses.replace(plan, spec=dataclasses.replace(spec, out=out))
    from scsim.engine.warmup import warm_up
    from scsim.scenario.load import validate_scenario

    warm_up(validate_scenario(plan.scenario, "fit").scenario)
    progress = Progress(TextColumn("{task.description}", style="bold"), BarColumn(bar_width=16),
                        TaskProgressColumn(), TextColumn("{task.fields[line]}"),
                        TimeElapsedColumn(), console=console, disable=quiet)
    bars: dict[int, int] = {}

    def report(t: int, accepted: int, evaluations: int) -> None:
        if t not in bars:
            label = "calibration" if t < 0 else f"generation {t + 1}/{generations}"
            bars[t] = progress.add_task(label, total=particles, line="")
        progress.update(bars[t], completed=accepted,
                        line=f"{accepted}/{particles} of {evaluations} tried")

    try:
        with _claimed(out, "fit.json", "fit", resume, force, _read_fit_manifest) as stored:
            if stored is not None:
                from scsim.experiments.fit import resume_problems

                problems = resume_problems(plan, stored)
                if problems:
                    raise fail(problems)
            with progress, open_client(scheduler, workers) as client:
                n = (max(1, len(client.scheduler_info().get("workers", {})))
                     if scheduler is not None else (workers or default_workers()))
                manifest = run_fit(plan, client, n, resume=resume, progress=report)
            _write_fit_report(out)
    except ScsimError as exc:
        raise fail(str(exc)) from None
    if not quiet:
        _print_fit(out, manifest)


def _write_fit_report(out: Path, target: Path | None = None, replace: bool = True) -> Path:
    """The fit's page (report.html in the fit folder unless ``target``)."""
    from scsim.cli.common import _write_text_atomically
    from scsim.experiments.report import fit_report

    target = target or out / "report.html"
    try:
        page = fit_report(out)
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"{out}: not a finished scsim fit ({exc})") from None
    _write_text_atomically(target, page, replace)
    return target


def _print_fit(out: Path, manifest: dict) -> None:
    import pyarrow.parquet as pq

    from scsim.experiments.fit import GENERATIONS, PARTICLES

    generations = pq.read_table(out / GENERATIONS).to_pylist()
    particles = pq.read_table(out / PARTICLES).to_pandas()
    last = particles[particles.generation == particles.generation.max()]
    table = Table(title=f"posterior after generation {int(last.generation.iloc[0]) + 1} "
                  f"({len(last)} particles)", show_edge=False)
    # The table holds the numbers only, so that it fits 80 columns; the values' paths are
    # listed below it.
    for column in ("#", "median", "90% interval", "prior"):
        table.add_column(column, justify="right")
    from scsim.experiments.fit import weighted_quantiles

    for k, prior in enumerate(manifest["priors"], 1):
        q05, q50, q95 = weighted_quantiles(last[prior["path"]].to_numpy(),
                                           last.weight.to_numpy(), (0.05, 0.5, 0.95))
        table.add_row(str(k), numbers.rate(q50), f"{numbers.rate(q05)} to {numbers.rate(q95)}",
                      f"{prior['shape']} {numbers.rate(prior['low'])} to "
                      f"{numbers.rate(prior['high'])}")
    console.print(table)
    for k, prior in enumerate(manifest["priors"], 1):
        console.print(f"[{k}] {prior['path']}", markup=False)
    g = generations[-1]
    simulations = sum(x["evaluations"] for x in generations)
    console.print(f"epsilon {g['epsilon']:.3g}, acceptance {g['acceptance_rate']:.1%}, "
                  f"effective sample size {g['ess']:.0f}; {simulations:,} simulations of "
                  f"{manifest['population']:,} citizens; wrote {out} (report.html: the "
                  "posterior, and after scsim predict, the targets against their intervals)",
                  markup=False)
    floor = len(manifest["targets"]) ** 0.5
    if g["epsilon"] > 2 * floor:
        console.print(f"note: epsilon is still above {2 * floor:.2g}, twice the distance a "
                      f"perfect model would keep from its {len(manifest['targets'])} targets "
                      f"(about {floor:.2g}); the intervals are wider than the targets' errors "
                      "alone would make them: run more --generations (--resume continues)",
                      markup=False)


@app.command()
def predict(
    fit_folder: Annotated[Path, typer.Argument(metavar="FIT", help="A fit folder (scsim fit).")],
    draws: Annotated[int, typer.Option(min=1, max=10_000, help="Draws from the posterior "
                                       "(its last generation, by weight).")] = 50,
    seeds: Annotated[int, typer.Option(min=1, max=100, help="Seeds per draw (the seed noise "
                                       "in the intervals).")] = 2,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    quiet: QuietOption = False,
) -> None:
    """The posterior predictive of a fit: every target, fitted and held out, with its median
    and 50% and 90% intervals, and whether the published figure falls inside."""
    from scsim.experiments.cluster import open_client
    from scsim.experiments.fit import run_predict, stored_plan

    try:
        plan = stored_plan(fit_folder)
    except ScsimError as exc:
        raise fail(str(exc)) from None
    from scsim.engine.warmup import warm_up
    from scsim.scenario.load import validate_scenario

    warm_up(validate_scenario(plan.scenario, "fit").scenario)
    progress = Progress(TextColumn("simulations", style="bold"), BarColumn(bar_width=16),
                        TaskProgressColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f}"),
                        TimeElapsedColumn(), console=console, disable=quiet)
    try:
        with progress, open_client(scheduler, workers) as client:
            task = progress.add_task("simulations", total=draws * seeds)
            table = run_predict(fit_folder, client, draws, seeds,
                                lambda done, total: progress.update(task, completed=done))
        _write_fit_report(fit_folder)
    except ScsimError as exc:
        raise fail(str(exc)) from None
    if not quiet:
        _print_prediction(fit_folder, table.to_pylist(), draws, seeds)


def _print_prediction(out: Path, rows: list[dict], draws: int, seeds: int) -> None:
    table = Table(title="posterior predictive (published x natural_persons against the "
                  "simulated)", show_edge=False)
    for column in ("#", "role", "published", "median", "5%", "95%", "in"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(str(row["target"] + 1),
                      ("fitted" if row["role"] == "fitted" else "held out")
                      + (f" ({row['part']})" if row["part"] else ""),
                      numbers.rate(row["expected"]), numbers.rate(row["median"]),
                      numbers.rate(row["q05"]), numbers.rate(row["q95"]),
                      "yes" if row["inside_90"] else "no")
    console.print(table)
    console.print("published: times natural_persons; in: inside the 90% interval (5% to "
                  "95%); the targets are those of `scsim calibrate`, in its order",
                  markup=False)
    held_out = [r for r in rows if r["role"] == "predicted"]
    if held_out:
        inside = sum(r["inside_90"] for r in held_out)
        widths = sorted((r["q95"] - r["q05"]) / r["median"] for r in held_out
                        if r["median"] and r["median"] > 0)
        console.print(f"held-out figures inside their 90% interval: {inside} of "
                      f"{len(held_out)} ({inside / len(held_out):.0%}); median relative width "
                      f"of those intervals {widths[len(widths) // 2]:.0%}", markup=False)
    console.print(f"{draws} posterior draws x {seeds} seeds; wrote {out / 'prediction.parquet'} "
                  f"and {out / 'predictive.parquet'}", markup=False)
