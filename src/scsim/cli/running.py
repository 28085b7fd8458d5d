"""``scsim run`` and ``validate``: simulate, write the run folder, show the ledger."""

from __future__ import annotations

import contextlib
import enum
import signal
import time
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
    SeedOption,
    SetOption,
    ThreadsOption,
    _check_memory,
    _load,
    _load_counterfactual,
    _set_threads,
    _write_report,
    app,
    console,
    err_console,
    fail,
)
from scsim.describe import print_description
from scsim.engine import DEFAULT_CHUNK_SIZE, KERNEL_CHOICES, UNIVERSAL_BELOW
from scsim.io.run_dir import (
    OutputError,
    RunDirExists,
    check_target,
    clean_stale_partials,
    default_run_folder,
)
from scsim.ledger import ORDER, quantities_in
from scsim.quantities import LEVEL, PAIRED_COMPARISON, PAIRED_DIFFERENCE


@contextlib.contextmanager
def interrupted_by_signals() -> Iterator[list[int]]:
    """SIGTERM and SIGHUP end a run like Ctrl-C (SIGINT): as KeyboardInterrupt, so that every
    partial output is removed on the way out.  Yields the signals received."""
    received: list[int] = []

    def interrupt(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, interrupt) for s in wanted}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class RateColumn(ProgressColumn):
    """Citizen-days per second."""

    def render(self, task: Task) -> Text:
        speed = task.fields.get("rate")
        return Text("-" if not speed else f"{numbers.large(speed)} citizen-days/s",
                    style="cyan")


KernelOption = enum.StrEnum("KernelOption", {name: name for name in KERNEL_CHOICES})


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Run folder (default runs/NAME-seedSEED-HASH, HASH "
                     "naming the effective scenario)."),
    ] = None,
    seed: SeedOption = None,
    population: Annotated[int | None, typer.Option(help="Override population.size.")] = None,
    days: Annotated[int | None, typer.Option(help="Override run.days.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing run folder.")] = False,
    threads: ThreadsOption = None,
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Citizens per kernel call (results do not depend on it).")
    ] = DEFAULT_CHUNK_SIZE,
    kernel: Annotated[
        KernelOption, typer.Option(
            help="Which kernel runs: 'universal' (compiled once for every scenario), "
            "'specialised' (compiled for this scenario's mechanisms, faster on big runs), or "
            f"'auto' (universal below {UNIVERSAL_BELOW:,} citizens). Results do not depend "
            "on it.")
    ] = KernelOption.auto,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    write_report: Annotated[
        bool, typer.Option("--report", help="Also write OUT/report.html (see scsim report).")
    ] = False,
    attribute: Annotated[
        bool, typer.Option("--attribute", help="Also write OUT/attribution.json: each benefit "
                           "against none, and what each measure, deterrence and public "
                           "naming adds to it (one more paired run each; see scsim "
                           "attribute). The report shows it.")
    ] = False,
    counterfactual: Annotated[
        str | None,
        typer.Option(
            "--counterfactual",
            metavar="none|FILE",
            help="Pair the run with 'none' (the same world without the system) or another "
            "scenario file of the same world: both sides share every random draw, and "
            "ledger.json holds exact per-citizen differences.",
        ),
    ] = None,
    posterior: Annotated[
        Path | None,
        typer.Option("--posterior", metavar="FIT", help="Take the fitted values from one draw "
                     "of this fit's posterior (scsim fit), chosen by the seed; for intervals "
                     "over the posterior, run scsim ensemble --posterior.")
    ] = None,
    set_: SetOption = None,
    add: AddOption = None,
) -> None:
    """Simulate SCENARIO; write daily and histogram Parquet, ledger.json and summary.json."""
    loaded = _load(scenario, seed, population, days, set_, add)
    pairing = (_load_counterfactual(counterfactual, loaded, seed, population, days)
               if counterfactual is not None else None)
    drawn = None
    if posterior is not None:
        from scsim.cli.experiments import _read_posterior
        from scsim.experiments.posterior import single_run_draw

        fitted = _read_posterior(posterior, loaded)
        loaded, pairing, drawn = single_run_draw(fitted, loaded, pairing)
    s = loaded.scenario
    out = out if out is not None else default_run_folder(loaded, pairing)
    try:
        check_target(out, force)
    except RunDirExists as exc:
        raise fail(str(exc)) from None
    _set_threads(threads)
    _check_memory(loaded, pairing)
    for stale in clean_stale_partials(out.parent):
        console.print(f"removed {stale}, left by a run that was killed")

    from scsim.engine.warmup import warm_up
    from scsim.runner import run_to_folder

    with console.status("loading compiled kernels (compiling on first use)...",
                        spinner="dots") if not quiet else contextlib.nullcontext():
        warm_up(s, pairing.scenario if pairing else None, kernel.value)
    if not quiet:
        from scsim.engine.memory import bytes_per_citizen, format_bytes

        console.print(
            f"population: {s.population.size:,} citizens, traits derived from (seed, id) as "
            f"needed, so there is nothing to build; "
            f"{format_bytes(s.population.size * bytes_per_citizen())} of end state"
        )
    total = s.population.size * s.run.days
    if not quiet:
        console.print(f"simulating {numbers.count(s.population.size)} citizens x "
                      f"{s.run.days} days" + (f", paired with '{pairing.label}'" if pairing
                                              else ""))
        if attribute:
            from scsim.attribution import switchable

            titles = [title for _, title in switchable(s)]
            console.print(f"then, for attribution.json, {1 + len(titles)} more paired runs: "
                          "against none, and without each of "
                          + (", ".join(titles) or "nothing"))
    columns = (  # fits 80 columns
        TextColumn("{task.description}", markup=False, style="bold"),
        BarColumn(bar_width=16),
        TaskProgressColumn(),
        RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=quiet) as bar:
        task = bar.add_task(s.name[:16], total=total, citizens=0, rate=None)
        started = time.perf_counter()

        def advance(done: int) -> None:
            elapsed = time.perf_counter() - started
            rate = done * s.run.days / elapsed if elapsed > 0 else None
            bar.update(task, completed=done * s.run.days, citizens=done, rate=rate)

        try:
            with interrupted_by_signals() as received:
                result, summary, ledger = run_to_folder(
                    loaded, out, force=force, chunk_size=chunk_size, progress=advance,
                    counterfactual=pairing, kernel=kernel.value, attribute=attribute,
                    posterior=drawn,
                )
        except (RunDirExists, OutputError) as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            signum = received[-1] if received else signal.SIGINT
            err_console.print(f"interrupted by {signal.Signals(signum).name}: nothing was "
                              f"written to {out}")
            raise typer.Exit(128 + signum) from None
    if not quiet:
        _print_summary(result, summary, ledger, out, loaded.declared_population)
        if drawn is not None:
            console.print(f"fitted values: one draw from the posterior of {posterior} "
                          f"(particle {drawn['particle']}): "
                          + ", ".join(f"{k} = {numbers.rate(v)}"
                                      for k, v in drawn["values"].items())
                          + "; the intervals above are seed noise under this draw only "
                          "(scsim ensemble --posterior gives both)", markup=False)
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
    return f"{numbers.count(entry['value'])} ({numbers.rate(entry['rate_per_100k'])}){flag}"


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
SECTION_TITLES = {
    LEVEL: "levels",
    PAIRED_DIFFERENCE: "paired differences",
    PAIRED_COMPARISON: "paired comparisons",
}


def _print_summary(result, summary: dict, ledger: dict, out: Path,
                   declared_population: int) -> None:
    from scsim.results import daily_table

    rows = daily_table(result).to_pylist()
    last_day = result.scenario.run.days
    groups = list(ledger["by_group"])
    last = {r["group"]: r for r in rows if r["day"] == last_day}
    paired = ledger["paired"]
    title = (f"Ledger over {last_day} days, paired with '{ledger['counterfactual']}': "
             "count (per 100,000 citizens)" if paired else
             f"Ledger over {last_day} days: count (per 100,000 citizens)")
    t = Table(title=title, show_edge=False)
    t.add_column("", no_wrap=True)
    for g in groups:
        t.add_column(g, justify="right", overflow="fold")
    t.add_row("citizens", *(numbers.count(ledger["by_group"][g]["citizens"]) for g in groups))
    t.add_row(f"blacklisted on day {last_day}",
              *(numbers.count(last[g]["blacklisted"]) for g in groups))
    headline = [*HEADLINE, *((q.name, q.name.replace("_", " ")) for q in quantities_in(ledger)
                             if q.name not in ORDER)]  # the quantities of newer mechanisms
    shown = [(q, label) for q, label in headline
             if paired or not ledger["quantities"][q]["needs_counterfactual"]]
    for measure, heading in SECTION_TITLES.items():
        section = [(q, label) for q, label in shown
                   if ledger["quantities"][q]["measure"] == measure]
        if not section:
            continue
        t.add_section()
        t.add_row(Text(heading, style="italic"), *([""] * len(groups)))
        for quantity, label in section:
            t.add_row(label, *(_rate_cell(ledger["by_group"][g]["quantities"][quantity])
                               for g in groups))
    console.print(t)
    if paired:
        console.print(f"levels: the run's own counts; paired differences: against "
                      f"'{ledger['counterfactual']}', citizen by citizen, with the same random "
                      "draws; paired comparisons: against the same citizens without false "
                      "records")
    else:
        console.print("all figures are levels: the run's own counts; wrongly blacklisted, "
                      "speech lost and offences prevented need a counterfactual: add "
                      "--counterfactual none")
    if any(ledger["by_group"][g]["small_group"] for g in groups):
        console.print(f"* fewer than {ledger['small_group_threshold']} citizens: unreliable")
    for line in weighing_lines(ledger):
        console.print(line, markup=False)
    simulated = result.scenario.population.size
    if declared_population > simulated:
        _print_scaled(ledger, shown, simulated, declared_population)
    rate = summary["citizen_days_per_s"]
    console.print(
        f"{numbers.count(summary['citizen_days'])} citizen-days in "
        f"{summary['wall_time_s']:.2f} s ({numbers.large(rate)} citizen-days/s simulating, "
        f"{summary['threads']} threads); peak memory "
        f"{summary['peak_memory_bytes'] / 2**20:,.0f} MiB"
    )
    console.print(f"wrote {out}/: daily.parquet, score_histogram.parquet, "
                  "grade_transitions.parquet, ledger.json, ledger.parquet, run.parquet, "
                  "stories.json, " + ", ".join(sorted(
                      [p.name for p in out.glob("*.toml")]
                      + (["attribution.json"] if (out / "attribution.json").exists() else [])))
                  + " and summary.json")


def weighing_lines(ledger: dict) -> list[str]:
    """One line per benefit measured: the headline harms per unit of it (ledger.json's
    weighing), with what the benefit is counted against."""
    w = ledger.get("weighing")
    if not w:
        return []
    labels = {**dict(HEADLINE), "income_lost": "yuan of income lost",
              "wrongly_listed_unable": "listed while unable to pay",
              "days_detained": "days detained"}
    def ratio(h: dict, name: str) -> str:
        value = numbers.rate(h["per_unit_of"][name])
        ci = h.get("per_unit_of_ci95", {}).get(name)
        return value if ci is None else (f"{value} ({numbers.rate(ci[0])} to "
                                         f"{numbers.rate(ci[1])})")

    lines = []
    for name, b in w["benefits"].items():
        if b["value"] <= 0:
            continue
        costs = [f"{ratio(h, name)} {labels.get(q, q.replace('_', ' '))}"
                 for q, h in w["harms"].items()
                 if q in labels and h["per_unit_of"][name] is not None]
        flag = "" if b["status"] == "ok" else f" ({b['status']})"
        lines.append(f"per {name.replace('_', ' ')} ({numbers.count(b['value'])}, "
                     f"{b['measure']}{flag}): " + (", ".join(costs) or "no harm to weigh"))
    if lines:
        lines.append("ratios of totals with 95% intervals (the two totals' own, taken as "
                     "independent); benefits are counted against "
                     + "; ".join(f"{n.replace('_', ' ')}: {b['against']}"
                                 for n, b in w["benefits"].items() if b["value"] > 0))
    return lines


def _print_scaled(ledger: dict, shown: list[tuple[str, str]], simulated: int,
                  declared: int) -> None:
    """A sample of a larger scenario: its totals scaled to the file's population."""
    factor = declared / simulated
    t = Table(title=f"Scaled to the scenario's {numbers.count(declared)} citizens "
              f"(x{numbers.rate(factor)}; this run simulated {numbers.count(simulated)})",
              show_edge=False)
    t.add_column("")
    t.add_column("simulated", justify="right")
    t.add_column("scaled", justify="right")
    for quantity, label in shown:
        value = ledger["totals"][quantity]
        if value is not None:
            t.add_row(label, numbers.count(value), numbers.count(value * factor))
    console.print(t)
    console.print("scaled totals assume the sample is representative: rates per 100,000 and "
                  "their intervals are the sample's", markup=False)


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    seed: SeedOption = None,
    population: Annotated[int | None, typer.Option(help="Override population.size.")] = None,
    days: Annotated[int | None, typer.Option(help="Override run.days.")] = None,
    set_: SetOption = None,
    add: AddOption = None,
) -> None:
    """Check SCENARIO and print what it describes; exit 2 if it is invalid."""
    loaded = _load(scenario, seed, population, days, set_, add)
    _check_memory(loaded)
    print_description(loaded, console)


@app.command()
def plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    set_: SetOption = None,
    add: AddOption = None,
) -> None:
    """Print the phases of a simulated day, the mechanisms at each (on or off for SCENARIO)
    and the random-number purposes each draws from."""
    from scsim.engine.plan import plan_lines

    loaded = _load(scenario, None, None, None, set_, add)
    console.print(Text(f"{loaded.scenario.name}: each day, for each member of a "
                       "neighbourhood, in this order", style="bold"))
    for line in plan_lines(loaded.scenario):
        console.print(line, markup=False)
