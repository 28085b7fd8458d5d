"""The ``scsim`` command line: run and validate scenarios.

Bad input of any kind ends with one line per problem on stderr and exit
status 2, never a traceback, and never a half-written output folder.
"""

from __future__ import annotations

import contextlib
import time
from enum import StrEnum
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
from scsim.engine import DEFAULT_CHUNK_SIZE
from scsim.io.run_dir import RunDirExists, check_target
from scsim.scenario.load import LoadedScenario, ScenarioError, load_scenario
from scsim.scenario.pairing import Counterfactual

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


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override any field: dotted.path=VALUE, VALUE in TOML syntax "
        "(e.g. --set behaviours.jaywalk.daily_rate=0.001). Repeatable.",
    ),
]


def _parse_sets(assignments: list[str] | None, source: str) -> dict:
    import tomllib

    overrides = {}
    for text in assignments or []:
        path, sep, value = text.partition("=")
        if not sep or not path.strip():
            raise fail(f"{source}: --set {text!r}: expected dotted.path=VALUE")
        try:
            overrides[path.strip()] = tomllib.loads(f"value = {value}")["value"]
        except tomllib.TOMLDecodeError:
            raise fail(f"{source}: {path.strip()}: --set value {value!r} is not a TOML value "
                       "(quote strings: --set name='\"x\"')") from None
    return overrides


def _world_overrides(seed: int | None, population: int | None, days: int | None) -> dict:
    overrides: dict = {}
    if seed is not None:
        overrides["run.seed"] = seed
    if population is not None:
        overrides["population.size"] = population
    if days is not None:
        overrides["run.days"] = days
    return overrides


def _load(scenario: Path, seed: int | None, population: int | None, days: int | None,
          sets: list[str] | None = None) -> LoadedScenario:
    overrides = _parse_sets(sets, str(scenario)) | _world_overrides(seed, population, days)
    try:
        return load_scenario(scenario, overrides)
    except ScenarioError as exc:
        raise fail(exc.lines()) from None


def _load_counterfactual(text: str, loaded: LoadedScenario, seed: int | None,
                         population: int | None, days: int | None) -> Counterfactual:
    """'none' or a scenario file of the same world; --seed/--population/--days apply to both."""
    import hashlib
    import json

    from scsim.scenario.pairing import no_system, world_differences

    if text.strip().lower() == "none":
        cf = no_system(loaded.scenario)
        canonical = json.dumps(cf.model_dump(mode="json"), sort_keys=True)
        return Counterfactual(cf, "none", hashlib.sha256(canonical.encode()).hexdigest())
    path = Path(text)
    try:
        other = load_scenario(path, _world_overrides(seed, population, days))
    except ScenarioError as exc:
        raise fail([f"--counterfactual: {line}" for line in exc.lines()]) from None
    problems = world_differences(loaded.scenario, other.scenario)
    if problems:
        raise fail([f"--counterfactual: {path}: {field}: {why} ({loaded.source}); --set "
                    "changes SCENARIO only" for field, why in problems])
    return Counterfactual(other.scenario, str(path), other.sha256)


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


def _check_memory(loaded: LoadedScenario, counterfactual: Counterfactual | None = None) -> None:
    import numba

    from scsim.engine.memory import memory_problem

    problem = memory_problem(loaded.scenario, numba.get_num_threads(),
                             counterfactual=counterfactual.scenario if counterfactual else None)
    if problem:
        raise fail(f"{loaded.source}: population.size: {problem}")


class RateColumn(ProgressColumn):
    """Citizen-days per second."""

    def render(self, task: Task) -> Text:
        speed = task.fields.get("rate")
        return Text("-" if not speed else f"{speed:,.3g} citizen-days/s", style="cyan")


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
    write_report: Annotated[
        bool, typer.Option("--report", help="Also write OUT/report.html (see scsim report).")
    ] = False,
    counterfactual: Annotated[
        str | None,
        typer.Option(
            "--counterfactual",
            help="Pair the run with 'none' (the same world without the system) or another "
            "scenario file of the same world: both sides share every random draw, and "
            "ledger.json holds exact per-citizen differences.",
        ),
    ] = None,
    set_: SetOption = None,
) -> None:
    """Simulate SCENARIO; write daily and histogram Parquet, ledger.json and summary.json."""
    loaded = _load(scenario, seed, population, days, set_)
    pairing = (_load_counterfactual(counterfactual, loaded, seed, population, days)
               if counterfactual is not None else None)
    s = loaded.scenario
    out = out if out is not None else Path("runs") / f"{s.name}-seed{s.run.seed}"
    try:
        check_target(out, force)
    except RunDirExists as exc:
        raise fail(str(exc)) from None
    _set_threads(threads)
    _check_memory(loaded, pairing)

    from scsim.engine.warmup import warm_up
    from scsim.run import run_to_folder

    with console.status("loading compiled kernels (compiling on first use)...",
                        spinner="dots") if not quiet else contextlib.nullcontext():
        warm_up()
    if not quiet:
        from scsim.engine.memory import bytes_per_citizen, format_bytes

        console.print(
            f"population: {s.population.size:,} citizens, traits derived from (seed, id) as "
            f"needed, so there is nothing to build; "
            f"{format_bytes(s.population.size * bytes_per_citizen())} of end state"
        )
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
                            citizens=0, rate=None)
        started = time.perf_counter()

        def advance(done: int) -> None:
            elapsed = time.perf_counter() - started
            rate = done * s.run.days / elapsed if elapsed > 0 else None
            bar.update(task, completed=done * s.run.days, citizens=done, rate=rate)

        try:
            result, summary, ledger = run_to_folder(
                loaded, out, force=force, chunk_size=chunk_size, progress=advance,
                counterfactual=pairing,
            )
        except RunDirExists as exc:
            raise fail(str(exc)) from None
    if not quiet:
        _print_summary(result, summary, ledger, out)
    if write_report:
        target = _write_report(out, None)
        if not quiet:
            console.print(f"wrote {target}")


def _rate_cell(entry: dict) -> str:
    """A ledger entry as 'count (rate per 100k)', or why there is no number."""
    if entry["value"] is None:
        return "n/a"
    if entry["rate_per_100k"] is None:
        return "undefined"
    flag = "*" if entry["status"] != "ok" else ""
    return f"{entry['value']:,} ({entry['rate_per_100k']:,.4g}){flag}"


HEADLINE = (
    ("behaviours_prevented", "offences prevented (benefit)"),
    ("sanctioned", "ever blacklisted"),
    ("wrongly_sanctioned", "wrongly blacklisted"),
    ("trips_denied", "trips denied"),
    ("speech_lost", "speech lost"),
    ("income_lost", "income lost, yuan"),
    ("children_penalised", "school admissions refused"),
    ("false_records", "false records"),
)


def _print_summary(result, summary: dict, ledger: dict, out: Path) -> None:
    from scsim.results import daily_table

    rows = daily_table(result).to_pylist()
    last_day = result.scenario.run.days
    groups = list(ledger["by_group"])
    last = {r["group"]: r for r in rows if r["day"] == last_day}
    paired = ledger["paired"]
    title = (f"Ledger over {last_day} days against counterfactual '{ledger['counterfactual']}': "
             "count (per 100,000 citizens)" if paired else
             f"Ledger over {last_day} days: count (per 100,000 citizens)")
    t = Table(title=title, show_edge=False)
    t.add_column("")
    for g in groups:
        t.add_column(g, justify="right")
    t.add_row("citizens", *(f"{ledger['by_group'][g]['citizens']:,}" for g in groups))
    t.add_row(f"blacklisted on day {last_day}", *(f"{last[g]['blacklisted']:,}" for g in groups))
    for quantity, label in HEADLINE:
        if not paired and ledger["quantities"][quantity]["needs_counterfactual"]:
            continue
        t.add_row(label, *(_rate_cell(ledger["by_group"][g]["quantities"][quantity])
                           for g in groups))
    console.print(t)
    if not paired:
        console.print("wrongly blacklisted, speech lost and offences prevented need a "
                      "counterfactual: add --counterfactual none")
    if any(ledger["by_group"][g]["small_group"] for g in groups):
        console.print(f"* fewer than {ledger['small_group_threshold']} citizens: unreliable")
    console.print(
        f"{summary['citizen_days']:,} citizen-days in {summary['wall_time_s']:.2f} s "
        f"({summary['citizen_days_per_s']:.3g} citizen-days/s simulating, "
        f"{summary['threads']} threads); peak memory "
        f"{summary['peak_memory_bytes'] / 2**20:,.0f} MiB"
    )
    console.print(f"wrote {out}/: daily.parquet, score_histogram.parquet, "
                  "grade_transitions.parquet, ledger.json, summary.json")


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    seed: Annotated[int | None, typer.Option(help="Override run.seed.")] = None,
    population: Annotated[int | None, typer.Option(help="Override population.size.")] = None,
    days: Annotated[int | None, typer.Option(help="Override run.days.")] = None,
    set_: SetOption = None,
) -> None:
    """Check SCENARIO and print what it describes; exit 2 if it is invalid."""
    loaded = _load(scenario, seed, population, days, set_)
    _check_memory(loaded)
    describe_scenario(loaded, console)


def _read_run(path: Path, required: tuple[str, ...] | None = None):
    from scsim.io.stored_run import REQUIRED_FILES, RunFolderError, read_run

    try:
        return read_run(path, required or REQUIRED_FILES)
    except RunFolderError as exc:
        raise fail(str(exc)) from None


def _write_text_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)


def _write_report(run_folder: Path, out: Path | None) -> Path:
    from scsim.report import run_report

    target = out or run_folder / "report.html"
    _write_text_atomically(target, run_report(_read_run(run_folder)))
    return target


@app.command()
def report(
    run_folder: Annotated[Path, typer.Argument(help="A run folder written by scsim run.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default RUN/report.html).")
    ] = None,
) -> None:
    """Write a self-contained HTML page of a run: scenario, ledger, figures, groups, provenance."""
    with console.status("drawing figures...", spinner="dots"):
        target = _write_report(run_folder, out)
    console.print(f"wrote {target} (self-contained: opens offline)")


@app.command()
def plot(
    run_folder: Annotated[Path, typer.Argument(help="A run folder written by scsim run.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the figures (default "
                                  "RUN/figures).")
    ] = None,
) -> None:
    """Save every figure of a run as PNG (200 dpi) and SVG, for articles and slides."""
    import matplotlib.pyplot as plt

    from scsim.plots import all_figures, save

    stored = _read_run(run_folder)
    target = out or run_folder / "figures"
    target.mkdir(parents=True, exist_ok=True)
    with console.status("drawing figures...", spinner="dots"):
        written = []
        for name, fig in all_figures(stored).items():
            written += save(fig, target / name)
            plt.close(fig)
    console.print(f"wrote {len(written)} files to {target}: "
                  + ", ".join(p.name for p in written if p.suffix == ".png"))


@app.command()
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders.")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML page with overlaid figures.")
    ] = None,
) -> None:
    """The ledgers of runs side by side, with each run's difference from the first."""
    from scsim.compare import compare_runs, relative

    if len(runs) < 2:
        raise fail("compare: give at least two run folders")
    stored = [_read_run(path) for path in runs]
    comparison = compare_runs(stored)
    table = Table(title="Ledger totals, and differences from " + stored[0].name,
                  show_edge=False)
    table.add_column("quantity")
    for run in stored:
        table.add_column(run.name, justify="right")
    for run in stored[1:]:
        table.add_column(f"{run.name} - {stored[0].name}", justify="right")
    for row in comparison.rows:
        table.add_row(
            f"{row.quantity} ({row.side})",
            *("n/a" if t is None else f"{t:,}" for t in row.totals),
            *(relative(row.difference(k), row.totals[0], row.comparable[k])
              for k in range(1, len(stored))),
        )
    console.print(table)
    for run, shared in zip(stored[1:], comparison.common_random_numbers[1:], strict=True):
        console.print(
            f"{run.name}: "
            + ("same world, seed and citizen ids as " + stored[0].name + " (common random "
               "numbers): differences are exact sums of per-citizen paired differences"
               if shared else "a different world or seed from " + stored[0].name
               + ": differences include sampling noise"), markup=False)
    for run, same in zip(stored[1:], comparison.same_baseline[1:], strict=True):
        if not same:
            console.print(f"{run.name} is paired with another counterfactual than "
                          f"{stored[0].name}: quantities measured against the counterfactual "
                          "are not compared ('other baseline')", markup=False)
    if comparison.identical:
        console.print("no differences: every measured total is the same")
    if html is not None:
        from scsim.report import comparison_report

        with console.status("drawing figures...", spinner="dots"):
            _write_text_atomically(html, comparison_report(comparison))
        console.print(f"wrote {html}")


class OnlyCitizens(StrEnum):
    any = "any"
    sanctioned = "sanctioned"
    false_records = "false-records"


@app.command()
def trace(
    run_folder: Annotated[Path, typer.Argument(help="A run folder written by scsim run.")],
    citizen: Annotated[
        list[int] | None, typer.Option("--citizen", help="Citizen id to follow (repeatable).")
    ] = None,
    sample: Annotated[
        int | None, typer.Option(min=1, help="Follow this many citizens drawn at random.")
    ] = None,
    only: Annotated[
        OnlyCitizens, typer.Option(help="With --sample: draw only among citizens who were "
                                   "sanctioned, or who received false records.")
    ] = OnlyCitizens.any,
    sample_seed: Annotated[int, typer.Option(help="Seed of the --sample draw.")] = 0,
    search_seconds: Annotated[
        float, typer.Option(min=0, help="With --only: how long to keep drawing before giving "
                            "up (each draw re-simulates one neighbourhood, a few ms).")
    ] = 60.0,
    save: Annotated[
        bool, typer.Option("--save", help="Also write the stories to RUN/traces.json "
                           "(replacing it), for scsim report.")
    ] = False,
) -> None:
    """Tell the life of synthetic citizens of a run: records, false matches, score, sanctions.

    The citizen's neighbourhood is simulated again from the stored scenario,
    which reproduces the run exactly; dates are illustrative (day 1 is shown
    as 2026-01-01).
    """
    import json

    import numpy as np

    from scsim.engine.trace import Tracer
    from scsim.engine.warmup import warm_up
    from scsim.kernels.neighbourhood import Q_FALSE_RECORDS, Q_SANCTIONED
    from scsim.story import tell

    if not citizen and sample is None:
        raise fail("trace: name citizens with --citizen ID or draw some with --sample K")
    stored = _read_run(run_folder, ("summary.json",))
    s = stored.scenario
    first, last = stored.first_id, stored.first_id + s.population.size - 1
    for c in citizen or []:
        if not first <= c <= last:
            raise fail(f"--citizen: {c} is not in this run (ids {first} to {last})")
    with console.status("loading compiled kernels (compiling on first use)...", spinner="dots"):
        warm_up()
        tracer = Tracer(s, stored.counterfactual, first)
    stories = [tell(tracer.trace(c)) for c in citizen or []]
    if sample is not None:
        rng = np.random.default_rng(sample_seed)
        wanted = {
            OnlyCitizens.any: lambda t: True,
            OnlyCitizens.sanctioned: lambda t: t.ledger[Q_SANCTIONED] > 0,
            OnlyCitizens.false_records: lambda t: t.ledger[Q_FALSE_RECORDS] > 0,
        }[only]
        tries = 0
        found = 0
        deadline = time.perf_counter() + search_seconds
        with console.status(f"drawing {sample} citizens ({only.value})...", spinner="dots"):
            while found < sample and (tries < sample or time.perf_counter() < deadline):
                candidate = int(rng.integers(first, last + 1))
                tries += 1
                t = tracer.trace(candidate)
                if wanted(t):
                    stories.append(tell(t))
                    found += 1
        if found < sample:
            console.print(f"found {found} of {sample} citizens ({only.value}) in {tries:,} "
                          f"draws ({search_seconds:g} s); allow longer with --search-seconds")
    for story in stories:
        _print_story(story)
    if save:
        document = {"run": str(run_folder), "counterfactual": stored.counterfactual_label,
                    "date_note": "dates are illustrative: day 1 is shown as 2026-01-01",
                    "stories": [story.as_dict() for story in stories]}
        target = run_folder / "traces.json"
        _write_text_atomically(target, json.dumps(document, indent=2) + "\n")
        console.print(f"wrote {target}")


def _print_story(story) -> None:
    console.rule(f"[bold]citizen {story.citizen}")
    console.print(story.who, markup=False)
    console.print(f"household: {story.household}", markup=False)
    table = Table(show_edge=False, show_header=True)
    table.add_column("day", justify="right")
    table.add_column("date")
    table.add_column("what happened", overflow="fold")
    for day, date, text in story.events:
        table.add_row(str(day), date, Text(text, style="bold" if text.isupper()
                                           or text.split(":")[0].isupper() else ""))
    if story.events:
        console.print(table)
    else:
        console.print("nothing happened to this citizen")
    console.print(story.outcome, markup=False)
    shown = {k: v for k, v in story.ledger.items() if v}
    if shown:
        console.print("ledger: " + ", ".join(f"{k} {v:,}" for k, v in shown.items()),
                      markup=False)


@app.command()
def calibrate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML) with [calibration].")],
    population: Annotated[
        int | None,
        typer.Option(help="Simulate this many citizens and scale counts up to the file's "
                     "population.size (faster for national presets)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override run.seed.")] = None,
    threads: Annotated[
        int | None, typer.Option(help="Worker threads (results do not depend on it).")
    ] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown table (for docs/calibration.md).")
    ] = False,
) -> None:
    """Simulate SCENARIO and compare it with the published figures its [calibration] names."""
    full = _load(scenario, seed, None, None)
    if full.scenario.calibration is None:
        raise fail(f"{scenario}: calibration: the scenario names no published figures "
                   "(add [[calibration.targets]])")
    loaded = _load(scenario, seed, population, None)
    _set_threads(threads)
    _check_memory(loaded)
    from scsim.calibration import METRICS, compare
    from scsim.engine.sim import simulate
    from scsim.engine.warmup import warm_up

    warm_up()
    s = loaded.scenario
    started = time.perf_counter()
    with console.status(f"simulating {s.population.size:,} citizens x {s.run.days} days...",
                        spinner="dots"):
        result = simulate(s)
    wall = time.perf_counter() - started
    rows = compare(result, full.scenario.calibration.targets, full.scenario.population.size)

    def number(x: float | None) -> str:
        return "n/a" if x is None else f"{x:,.4g}"

    header = ("target", "group", "published", "simulated", "ratio", "reproduced", "source")
    cells = [
        (METRICS[c.target.metric][0] if markdown else c.target.metric, c.target.group or "all",
         number(c.target.published), number(c.simulated), number(c.ratio),
         ("yes" if c.reproduced else "no") + f" (±{c.target.tolerance:.0%})", c.target.source)
        for c in rows
    ]
    scaled = (f"{s.population.size:,} citizens simulated, counts scaled to "
              f"{full.scenario.population.size:,}") if population else \
        f"{s.population.size:,} citizens simulated"
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in cells:
            print("| " + " | ".join(row) + " |")
        print(f"\n{scaled}, {s.run.days} days, seed {s.run.seed}; {wall:.1f} s.")
        return
    table = Table(title=f"{s.name}: simulated against published", show_edge=False)
    for name in header:
        table.add_column(name, justify="right" if name in ("published", "simulated", "ratio")
                         else "left", overflow="fold")
    for row in cells:
        table.add_row(*row)
    console.print(table)
    console.print(f"{scaled}, {s.run.days} days, seed {s.run.seed}; {wall:.1f} s")


@app.command()
def bench(
    sizes: Annotated[
        str, typer.Option(help="Comma-separated R0 population sizes (e.g. 1e6,1e7).")
    ] = "1e6,1e7",
    repeats: Annotated[int, typer.Option(min=1, help="Runs per case; medians are reported.")] = 3,
    national: Annotated[
        bool, typer.Option("--national", help="Also run R0 at 1.41e9 citizens.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSON file for the results.")
    ] = None,
) -> None:
    """Benchmark R0: citizen-days/s, wall time, bytes per citizen, peak memory."""
    from scsim.bench import r0_cases, results_document, run_benchmarks

    try:
        populations = [int(float(x)) for x in sizes.split(",") if x.strip()]
    except ValueError:
        raise fail(f"--sizes: expected comma-separated numbers, got {sizes!r}") from None
    if not populations or min(populations) < 1:
        raise fail(f"--sizes: expected positive population sizes, got {sizes!r}")
    r0_path = Path(__file__).resolve().parents[2] / "scenarios" / "r0.toml"
    if not r0_path.exists():
        raise fail(f"{r0_path}: not found (scsim bench runs from a source checkout)")
    cases = r0_cases(r0_path, populations, national)
    results = run_benchmarks(
        cases, repeats,
        progress=lambda case: console.print(f"running {case.name} x {repeats} ...")
    )
    table = Table(title=f"R0 benchmarks (median of {repeats})", show_edge=False)
    for name in ("case", "citizens", "days", "citizen-days/s", "sim s", "wall s", "B/cit",
                 "peak MiB"):
        table.add_column(name, justify="left" if name == "case" else "right", no_wrap=True)
    for r in results:
        table.add_row(r.name, f"{r.population:.3g}", str(r.days), f"{r.citizen_days_per_s:.3g}",
                      f"{r.simulate_s:.2f}", f"{r.wall_time_s:.2f}", str(r.bytes_per_citizen),
                      f"{r.peak_memory_bytes / 2**20:,.0f}")
    console.print(table)
    full = [r for r in results if r.name.endswith("rates/10")]
    if full:
        base = next(r for r in results if r.population == full[0].population and r is not full[0])
        console.print(
            f"event rates / 10: {base.simulate_s / full[0].simulate_s:.2f}x faster "
            f"({base.simulate_s:.2f} s -> {full[0].simulate_s:.2f} s simulating)"
        )
    document = results_document(results, repeats)
    out = out or Path("bench-results") / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    import json

    out.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"wrote {out}")


