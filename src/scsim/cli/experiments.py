"""``scsim ensemble``: one scenario under many seeds, on Dask."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from scsim import numbers
from scsim.cli.common import (
    AddOption,
    SetOption,
    _check_memory,
    _load,
    _load_counterfactual,
    app,
    console,
    fail,
)


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


SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", metavar="tcp://HOST:PORT",
                 help="Run on an existing Dask cluster instead of an embedded local one."),
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Worker processes of the local cluster (default: one "
                 "per core; results do not depend on it)."),
]


@app.command()
def ensemble(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    replicates: Annotated[int, typer.Option(min=2, help="Replicates to run (seeds derived "
                                            "from --seed).")] = 10,
    seed: Annotated[int | None, typer.Option(help="Root seed (default: the file's run.seed).")
                    ] = None,
    population: Annotated[int | None, typer.Option(help="Override population.size.")] = None,
    days: Annotated[int | None, typer.Option(help="Override run.days.")] = None,
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
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted ensemble "
                                         "in OUT, skipping finished replicates.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Start the ensemble in OUT again.")
                     ] = False,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    set_: SetOption = None,
    add: AddOption = None,
) -> None:
    """Run SCENARIO under many seeds; summarise every ledger quantity across them."""
    from scsim.experiments.cluster import ClusterError, open_client
    from scsim.experiments.ensemble import EnsembleError, EnsembleSpec, run_ensemble
    from scsim.io.run_dir import RUNS, default_run_folder

    loaded = _load(scenario, None, population, days, set_, add)
    pairing = (_load_counterfactual(counterfactual, loaded, None, population, days)
               if counterfactual is not None else None)
    _check_memory(loaded, pairing)
    target = _fraction(until_halfwidth) if until_halfwidth is not None else None
    root = seed if seed is not None else loaded.scenario.run.seed
    if max_replicates is not None and max_replicates < replicates:
        raise fail(f"--max-replicates: {max_replicates} is below --replicates {replicates}")
    if out is None:
        single = default_run_folder(loaded, pairing).name
        name, _, rest = single.partition("-seed")
        out = RUNS / f"{name}-ensemble-seed{root}-{rest.rpartition('-')[2]}"
    spec = EnsembleSpec(loaded, pairing, out, root, replicates, target,
                        (max_replicates or 10 * replicates) if target is not None else None)
    bar = Progress(TextColumn("replicates", style="bold"), BarColumn(bar_width=20),
                   TaskProgressColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f}"),
                   TextColumn("ETA"), TimeRemainingColumn(), console=console, disable=quiet)
    try:
        with bar, open_client(scheduler, workers) as client:
            task = bar.add_task("replicates", total=replicates)
            workers_now = max(1, len(client.scheduler_info().get("workers", {})))
            outcome = run_ensemble(
                spec, client, resume=resume, force=force, batch=max(2, workers_now),
                progress=lambda done, total: bar.update(task, completed=done, total=total))
    except (ClusterError, EnsembleError) as exc:
        raise fail(str(exc)) from None
    if not quiet:
        _print_outcome(spec, outcome)


def _print_outcome(spec, outcome) -> None:
    import pyarrow.parquet as pq

    summary = pq.read_table(spec.out / "ensemble.parquet").to_pylist()
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
    if outcome.failed:
        for r, why in sorted(outcome.failed.items()):
            console.print(f"replicate {r} failed: {why}", markup=False)
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
    console.print(f"wrote {spec.out}/: ensemble.json, ensemble.parquet, results.parquet and "
                  f"{len(outcome.done)} replicate folders")
