"""The ``scsim`` command line: run and validate scenarios.

Bad input of any kind ends with one line per problem on stderr and exit
status 2, never a traceback, and never a half-written output folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from scsim import __version__
from scsim.describe import describe_scenario
from scsim.engine.sim import DEFAULT_CHUNK_SIZE
from scsim.io.run_dir import RunDirExists, check_target
from scsim.scenario.load import LoadedScenario, ScenarioError, load_scenario

app = typer.Typer(
    name="scsim",
    help="Simulate a social-credit scoring system on a synthetic population.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
EXIT_BAD_INPUT = 2


def fail(lines: list[str] | str) -> typer.Exit:
    for line in [lines] if isinstance(lines, str) else lines:
        err_console.print(f"error: {line}", markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"scsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """Simulate a social-credit scoring system on a synthetic population."""


def _load(scenario: Path, seed: int | None, population: int | None, days: int | None
          ) -> LoadedScenario:
    overrides = {}
    if seed is not None:
        overrides["run.seed"] = seed
    if population is not None:
        overrides["population.size"] = population
    if days is not None:
        overrides["run.days"] = days
    try:
        return load_scenario(scenario, overrides)
    except ScenarioError as exc:
        raise fail(exc.lines()) from None


def _set_threads(threads: int | None) -> None:
    import numba

    if threads is None:
        return
    if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
        raise fail(
            f"--threads: must be between 1 and {numba.config.NUMBA_NUM_THREADS} "
            f"(set NUMBA_NUM_THREADS to allow more), got {threads}"
        )
    numba.set_num_threads(threads)


def _check_memory(loaded: LoadedScenario) -> None:
    import numba

    from scsim.engine.memory import memory_problem

    problem = memory_problem(loaded.scenario, numba.get_num_threads())
    if problem:
        raise fail(f"{loaded.source}: population.size: {problem}")


class RateColumn(ProgressColumn):
    """Citizen-days per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("?" if speed is None else f"{speed:,.3g} citizen-days/s", style="cyan")


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run folder (default runs/NAME-seedSEED).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override run.seed.")] = None,
    population: Annotated[int | None, typer.Option(help="Override population.size.")] = None,
    days: Annotated[int | None, typer.Option(help="Override run.days.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing run folder.")] = False,
    threads: Annotated[
        int | None, typer.Option(help="Worker threads (results do not depend on it).")
    ] = None,
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Citizens per kernel call (results do not depend on it).")
    ] = DEFAULT_CHUNK_SIZE,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Simulate SCENARIO and write daily.parquet, score_histogram.parquet and summary.json."""
    loaded = _load(scenario, seed, population, days)
    s = loaded.scenario
    out = out if out is not None else Path("runs") / f"{s.name}-seed{s.run.seed}"
    try:
        check_target(out, force)
    except RunDirExists as exc:
        raise fail(str(exc)) from None
    _set_threads(threads)
    _check_memory(loaded)

    from scsim.engine.warmup import warm_up
    from scsim.run import run_to_folder

    with console.status("loading compiled kernels (compiling on first use)...",
                        spinner="dots") if not quiet else _nothing():
        warm_up()
    total = s.population.size * s.run.days
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[citizens]:,} citizens"),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=quiet) as bar:
        task = bar.add_task(f"{s.name}: {s.population.size:,} x {s.run.days} days", total=total,
                            citizens=0)

        def advance(done: int) -> None:
            bar.update(task, completed=done * s.run.days, citizens=done)

        try:
            result, summary = run_to_folder(loaded, out, force=force, chunk_size=chunk_size,
                                            progress=advance)
        except RunDirExists as exc:
            raise fail(str(exc)) from None
    if not quiet:
        _print_summary(result, summary, out)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _print_summary(result, summary: dict, out: Path) -> None:
    from scsim.results import daily_table

    table = daily_table(result).to_pylist()
    last_day = result.scenario.run.days
    rows = [r for r in table if r["day"] == last_day]
    t = Table(title=f"Day {last_day}", show_edge=False)
    for name in ("group", "population", "mean score", "blacklisted", "wrongly blacklisted",
                 "trips denied (all days)", "speech recorded (all days)"):
        t.add_column(name, justify="left" if name == "group" else "right")
    for r in rows:
        denied = sum(x["denied_trips"] for x in table if x["group"] == r["group"])
        speech = sum(x["recorded_speech"] for x in table if x["group"] == r["group"])
        t.add_row(r["group"], f"{r['population']:,}", f"{r['mean_score']:.2f}",
                  f"{r['blacklisted']:,}", f"{r['wrongly_blacklisted']:,}", f"{denied:,}",
                  f"{speech:,}")
    console.print(t)
    console.print(
        f"{summary['citizen_days']:,} citizen-days in {summary['wall_time_s']:.2f} s "
        f"({summary['citizen_days_per_s']:.3g} citizen-days/s simulating, "
        f"{summary['threads']} threads); peak memory "
        f"{summary['peak_memory_bytes'] / 2**20:,.0f} MiB"
    )
    console.print(f"wrote {out}/daily.parquet, score_histogram.parquet, summary.json")


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    seed: Annotated[int | None, typer.Option(help="Override run.seed.")] = None,
    population: Annotated[int | None, typer.Option(help="Override population.size.")] = None,
    days: Annotated[int | None, typer.Option(help="Override run.days.")] = None,
) -> None:
    """Check SCENARIO and print what it describes; exit 2 if it is invalid."""
    loaded = _load(scenario, seed, population, days)
    _check_memory(loaded)
    describe_scenario(loaded, console)


def entry() -> None:  # pragma: no cover - used by `python -m scsim`
    app(prog_name="scsim")
    sys.exit(0)
