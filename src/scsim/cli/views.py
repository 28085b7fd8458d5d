"""``scsim report``, ``plot`` and ``compare``: views of stored runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scsim.cli.common import (
    _output_place,
    _read_run,
    _write_report,
    _write_text_atomically,
    app,
    console,
    fail,
)


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
    from scsim.plots import all_figures, left_out, save

    stored = _read_run(run_folder)
    target = out or run_folder / "figures"
    with console.status("drawing figures...", spinner="dots"):
        figures = all_figures(stored)
        with _output_place(target) as tmp:
            for name, fig in figures.items():
                save(fig, tmp / name)
    console.print(f"wrote {len(figures)} figures to {target}, each as PNG and SVG: "
                  + ", ".join(figures))
    for name, why in left_out(figures).items():
        console.print(f"left out {name}: {why}")


@app.command()
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders.")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML page with overlaid figures.")
    ] = None,
) -> None:
    """The ledgers of runs side by side, with each run's difference from the first."""
    from scsim.compare import compare_runs, pairing_sentence, relative

    if len(runs) < 2:
        raise fail("compare: give at least two run folders")
    stored = [_read_run(path, optional=()) for path in runs]
    comparison = compare_runs(stored)
    table = Table(title="Ledger totals, and the differences between the runs' totals",
                  show_edge=False)
    table.add_column("quantity (side; what the totals are)", overflow="fold")
    for run in stored:
        table.add_column(run.name, justify="right", overflow="fold")
    for run in stored[1:]:
        table.add_column(f"{run.name} - {stored[0].name}", justify="right", overflow="fold")
    for row in comparison.rows:
        table.add_row(
            f"{row.quantity} ({row.side}; {row.measure})",
            *("n/a" if t is None else f"{t:,}" for t in row.totals),
            *(relative(row.difference(k), row.totals[0], row.comparable[k])
              for k in range(1, len(stored))),
        )
    console.print(table)
    for run in stored:
        console.print(pairing_sentence(run), markup=False)
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
