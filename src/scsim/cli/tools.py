"""``scsim calibrate``, ``attribute`` and ``bench``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scsim import numbers
from scsim.cli.common import (
    SeedOption,
    ThreadsOption,
    _check_memory,
    _load,
    _set_threads,
    _write_text_atomically,
    app,
    console,
    fail,
)
from scsim.text import printable


@app.command()
def calibrate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML) with [calibration].")],
    population: Annotated[
        int | None,
        typer.Option(help="Simulate this many citizens and scale counts up to the file's "
                     "population.size (faster for national presets)."),
    ] = None,
    seed: SeedOption = None,
    threads: ThreadsOption = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown table (for docs/calibration.md).")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(help="Also draw every dated series against its published points and "
                     "naive forecasts to PLOT.png and PLOT.svg (replaced if there)."),
    ] = None,
    seeds: Annotated[
        int,
        typer.Option(min=1, max=100, help="Simulate this many seeds (the scenario's, then the "
                     "next ones); the table is the first seed's, the figure's band their "
                     "range."),
    ] = 1,
) -> None:
    """Simulate SCENARIO and compare it with the published figures its calibration targets name."""
    full = _load(scenario, seed, None, None)
    if full.scenario.calibration is None:
        raise fail(f"{scenario}: calibration: the scenario names no published figures "
                   "(add [[calibration.targets]])")
    from scsim.calibration import METRICS, compare, naive_baseline, prediction_problems, skill

    problems = prediction_problems(full.scenario)
    if problems:
        raise fail([f"{scenario}: {where}: {reason}" for where, reason in problems])
    if plot is not None and all(t.on is None for t in full.scenario.calibration.targets):
        raise fail(f"{scenario}: --plot: no calibration target has a date to draw")
    loaded = _load(scenario, seed, population, None)
    _set_threads(threads)
    _check_memory(loaded)
    from scsim.engine.sim import simulate
    from scsim.engine.warmup import warm_up

    s = loaded.scenario
    warm_up(s)
    started = time.perf_counter()
    results = []
    for k in range(seeds):
        seeded = s if k == 0 else s.model_copy(
            update={"run": s.run.model_copy(update={"seed": s.run.seed + k})})
        with console.status(f"simulating {s.population.size:,} citizens x {s.run.days} days"
                            f"{f' (seed {k + 1} of {seeds})' if seeds > 1 else ''}...",
                            spinner="dots"):
            results.append(simulate(seeded))
    wall = time.perf_counter() - started
    result = results[0]
    targets = full.scenario.calibration.targets
    rows = compare(result, targets, full.scenario.population.size)
    baseline = naive_baseline(targets)
    if plot is not None:
        from scsim import plots

        figure = plots.calibration_figure(
            results, targets, full.scenario.population.size, baseline,
            f"{s.name}: simulated ({s.population.size:,} citizens, scaled) against published")
        for path in plots.save(figure, plot):
            console.print(f"wrote {path}", markup=False)
    naive = any(b is not None for b in baseline)

    header = ("target", "group", "published", "simulated", "ratio", "reproduced",
              *(("naive",) if naive else ()), "source")
    cells = [
        (_target_label(c.target, METRICS[c.target.metric][0]
                       if markdown and not c.target.columns else c.target.metric),
         c.target.group or "all",
         numbers.rate(c.target.published), numbers.rate(c.simulated),
         "n/a" if c.ratio is None else f"{c.ratio:.3f}",
         ("yes" if c.reproduced else "no") + f" (±{c.target.tolerance:.0%})",
         *((("" if b is None else f"{b / c.target.published:.3f}"),) if naive else ()),
         c.target.source)
        for c, b in zip(rows, baseline, strict=True)
    ]
    verdict = _skill_line(skill(rows, baseline)) if naive else ""
    scaled = (f"{s.population.size:,} citizens simulated, counts scaled to "
              f"{full.scenario.population.size:,}") if population else \
        f"{s.population.size:,} citizens simulated"
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in cells:
            print(printable("| " + " | ".join(row) + " |"))
        print(f"\n{scaled}, {s.run.days} days, seed {s.run.seed}; {wall:.1f} s."
              + (" PREDICTED: not tuned to; the others were fitted."
                 if any(c.target.role == "predicted" for c in rows) else "")
              + (f" {PARTS}" if any(c.target.part is not None for c in rows) else "")
              + (f" {NAIVE} {verdict}" if naive else ""))
        return
    # The terminal's table holds the numbers only, so that it fits 80 columns; what each
    # row is (the figure, its group and date) and its source are listed below it.
    table = Table(title=f"{s.name}: simulated against published", show_edge=False)
    table.add_column("#", justify="right")
    for name in ("published", "simulated", "ratio", "reproduced",
                 *(("naive",) if naive else ()), "role"):
        table.add_column(name, justify="left" if name in ("reproduced", "role") else "right",
                         overflow="fold")
    for k, (c, row) in enumerate(zip(rows, cells, strict=True), 1):
        table.add_row(str(k), *row[2:-1], "PREDICTED" if c.target.role == "predicted"
                      else "fitted")
    console.print(table)
    for k, (c, row) in enumerate(zip(rows, cells, strict=True), 1):
        label = _target_label(c.target, c.target.metric).removesuffix(" (PREDICTED)")
        group = "" if c.target.group is None else f" ({c.target.group})"
        console.print(f"[{k}] {label}{group}: {row[-1]}", markup=False)
    console.print(f"{scaled}, {s.run.days} days, seed {s.run.seed}; {wall:.1f} s")
    if any(c.target.role == "predicted" for c in rows):
        console.print("PREDICTED: a figure the scenario was not tuned to (a test of the model); "
                      "the others were fitted", markup=False)
    if any(c.target.part is not None for c in rows):
        console.print(PARTS, markup=False)
    if naive:
        console.print(f"{NAIVE} {verdict}", markup=False)


PARTS = ("part: a part of the model fitted apart, to figures of its own years; its "
         "predictions are checked against its own fit.")
NAIVE = ("naive: the ratio a log-linear line through the last two fitted figures of the "
         "same series would give.")


def _target_label(target, name: str) -> str:
    window = f" from {target.from_}" if target.from_ is not None else ""
    return (name + (f" of {' + '.join(target.columns)}" if target.columns else "") + window
            + (f" {'to' if window else 'on'} {target.on}" if target.on is not None else "")
            + (f", against {target.natural_persons:g} of it (natural persons)"
               if target.natural_persons != 1.0 else "")
            + (f", part {target.part}" if target.part is not None else "")
            + (" (PREDICTED)" if target.role == "predicted" else ""))


def _skill_line(result) -> str:
    """The predictions' mean absolute log error against the naive baseline's."""
    if result.model_error is None:
        return "No prediction has both a simulated value and a naive forecast."
    gain = result.improvement
    return (f"Mean absolute log error of the {result.predictions} predictions with a naive "
            f"forecast: {result.model_error:.3f}, naive {result.naive_error:.3f}"
            + ("." if gain is None else
               f" ({abs(gain):.0%} {'below' if gain >= 0 else 'above'} it)."))


@app.command()
def attribute(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML).")],
    population: Annotated[
        int | None, typer.Option(help="Simulate this many citizens instead of the file's.")
    ] = None,
    seed: SeedOption = None,
    threads: ThreadsOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the attribution to this JSON file "
                                  "(a new file: an existing one is never replaced).")
    ] = None,
) -> None:
    """Where each benefit comes from: the scenario against none, and against itself less each
    mechanism in turn (what that mechanism adds, given the others)."""
    loaded = _load(scenario, seed, population, None)
    _set_threads(threads)
    _check_memory(loaded)
    if json_out is not None and json_out.exists():
        raise fail(f"--json {json_out}: exists already (choose a new file)")
    from scsim.attribution import attribute as attribute_benefits
    from scsim.engine.warmup import warm_up

    s = loaded.scenario
    warm_up(s)
    started = time.perf_counter()
    with console.status("", spinner="dots") as status:
        def progress(what: str, done: int, total: int) -> None:
            status.update(f"{s.population.size:,} citizens paired, {done}/{total}: {what}")

        result = attribute_benefits(s, progress)
    wall = time.perf_counter() - started
    for b in result.benefits:  # (offences prevented, at least: a benefit of every ledger)
        whole = result.total[b]
        table = Table(title=f"{b.replace('_', ' ')}: {_with_interval(whole)} against none",
                      show_edge=False)
        table.add_column("switched off", overflow="fold")
        table.add_column("it adds [95%]", justify="right")
        table.add_column("share", justify="right")
        for part in result.parts:
            if part.skipped:
                table.add_row(part.title, part.skipped, "")
                continue
            share = result.share(part.name, b)
            table.add_row(part.title, _with_interval(part.adds[b]),
                          "n/a" if share is None else f"{share:.0%}" + (
                              "" if result.known(part.name, b) else " (interval holds 0)"))
        console.print(table)
    console.print(f"{s.population.size:,} citizens, {s.run.days} days, seed {s.run.seed}; "
                  f"{wall:.1f} s. Paired differences (common random numbers): what each "
                  "adds given the others; shares need not add up to 1.", markup=False)
    if json_out is not None:
        _write_text_atomically(json_out, json.dumps(result.to_json(), indent=1) + "\n")


def _with_interval(figure) -> str:
    """An attribution figure (``scsim.attribution.Figure``) as 'count [low, high]'."""
    if figure.ci95 is None:
        return numbers.count(figure.value)
    low, high = figure.ci95
    return f"{numbers.count(figure.value)} [{numbers.count(round(low))}, " \
           f"{numbers.count(round(high))}]"


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
    kernel: Annotated[
        str, typer.Option(help="The kernel timed: 'specialised' (the fast path at scale) or "
                          "'universal'.")
    ] = "specialised",
) -> None:
    """Benchmark R0: citizen-days/s, wall time, bytes per citizen, peak memory."""
    from scsim.bench import r0_cases, results_document, run_benchmarks

    try:
        populations = [int(float(x)) for x in sizes.split(",") if x.strip()]
    except ValueError:
        raise fail(f"--sizes: expected comma-separated numbers, got {sizes!r}") from None
    if not populations or min(populations) < 1:
        raise fail(f"--sizes: expected positive population sizes, got {sizes!r}")
    from scsim.bench import shipped_scenario

    r0_path = shipped_scenario("r0.toml")
    if r0_path is None:
        raise fail("r0.toml: not found beside the package nor in a source checkout")
    if kernel not in ("specialised", "universal"):
        raise fail(f"--kernel: expected specialised or universal, got {kernel!r}")
    cases = r0_cases(r0_path, populations, national, kernel)
    results = run_benchmarks(
        cases, repeats,
        progress=lambda case: console.print(f"running {case.name} x {repeats} ...")
    )
    table = Table(title=f"R0 benchmarks, {kernel} kernel (median of {repeats})",
                  show_edge=False)
    for name in ("case", "citizens", "days", "citizen-days per s", "sim s", "wall s", "B per cit",
                 "peak MiB"):
        table.add_column(name, justify="left" if name == "case" else "right", overflow="fold")
    for r in results:
        table.add_row(r.name, f"{r.population:,}", str(r.days),
                      numbers.large(r.citizen_days_per_s),
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

    out.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"wrote {out}")
