"""``scsim report``, ``plot`` and ``compare``: views of stored runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scsim.cli.common import (
    ForceFileOption,
    _check_output,
    _output_place,
    _read_run,
    _write_report,
    _write_text_atomically,
    app,
    console,
    err_console,
    fail,
)
from scsim.terminal import SafeConsole
from scsim.text import printable


def _is_fit(folder: Path) -> bool:
    """A fit folder (scsim fit) rather than a run folder."""
    return (folder / "fit.json").is_file()


def _fit_figures(folder: Path) -> dict:
    from scsim.experiments.report import fit_figures

    try:
        return fit_figures(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"{folder}: not a finished scsim fit ({exc})") from None


@app.command()
def report(
    run_folder: Annotated[Path, typer.Argument(help="A run folder (scsim run) or a fit "
                                               "folder (scsim fit).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default RUN/report.html).")
    ] = None,
    force: ForceFileOption = False,
) -> None:
    """Write a self-contained HTML page of a run (scenario, ledger, figures, groups,
    provenance) or of a fit (its posterior and posterior predictive)."""
    with console.status("drawing figures...", spinner="dots"):
        if _is_fit(run_folder):
            from scsim.cli.fitting import _write_fit_report

            _check_output(out or run_folder / "report.html", force)
            target = _write_fit_report(run_folder, out, force)
        else:
            target = _write_report(run_folder, out, force)
    console.print(f"wrote {target} (self-contained: opens offline)")


@app.command()
def plot(
    run_folder: Annotated[Path, typer.Argument(help="A run folder (scsim run) or a fit "
                                               "folder (scsim fit).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the figures (default "
                                  "RUN/figures).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace figures of the same name "
                                        "in the folder.")] = False,
) -> None:
    """Save every figure of a run, or of a fit, as PNG (200 dpi) and SVG, for articles and
    slides."""
    from scsim.plots import all_figures, left_out, save

    target = out or run_folder / "figures"
    with console.status("drawing figures...", spinner="dots"):
        if _is_fit(run_folder):
            figures = _fit_figures(run_folder)
        else:
            figures = all_figures(_read_run(run_folder))
        with _output_place(target, force) as tmp:
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
    force: ForceFileOption = False,
) -> None:
    """The ledgers of runs side by side, with each run's difference from the first."""
    from scsim.compare import compare_runs, pairing_sentence, relative

    if len(runs) < 2:
        raise fail("compare: give at least two run folders")
    _check_output(html, force)
    stored = [_read_run(path, optional=()) for path in runs]
    try:
        comparison = compare_runs(stored)
    except ValueError as exc:
        raise fail(f"compare: {exc}") from None
    title = "Ledger totals, and the differences between the runs' totals"
    if comparison.window is not None:
        a, b = comparison.window
        title += f", over their common days {a} to {b}"
    table = Table(title=title, show_edge=False)
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
    if comparison.window is not None:
        console.print("the runs cover different periods: totals are sums of daily counts over "
                      "the common days; counts of citizens (sanctioned, wrongly sanctioned) are "
                      "whole-run figures and are shown as n/a", markup=False)
    if comparison.identical:
        console.print("no differences: every measured total is the same")
    if html is not None:
        from scsim.report import comparison_report

        with console.status("drawing figures...", spinner="dots"):
            _write_text_atomically(html, comparison_report(comparison), force)
        console.print(f"wrote {html}")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the views runs, ledger and daily.")],
    root: Annotated[
        Path, typer.Option("--root", help="Folder whose run folders (at any depth) are queried.")
    ] = Path("runs"),
    output_format: Annotated[
        str, typer.Option("--format", help="table, csv, json or parquet (parquet needs --out).")
    ] = "table",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the result to this file.")
    ] = None,
    force: ForceFileOption = False,
) -> None:
    """Query every run below ROOT with SQL (DuckDB): views runs, ledger and daily.

    One read-only statement, which reads only the runs' files. CSV and Parquet stream (no
    limit); the table and JSON formats hold at most 100,000 rows."""
    from scsim.query import FORMATS, QueryError, open_query

    if output_format not in FORMATS:
        raise fail(f"--format: expected one of {', '.join(FORMATS)}, got {output_format!r}")
    if output_format == "parquet" and out is None:
        raise fail("--format parquet: give --out FILE")
    _check_output(out, force)
    try:
        result, con = open_query(sql, root)
    except QueryError as exc:
        raise fail(str(exc)) from None
    try:
        for _, why in result.skipped[:3]:  # (each reason names its file)
            err_console.print(f"note: left out of the registry: {why}")
        if len(result.skipped) > 3:
            err_console.print(f"note: left out {len(result.skipped) - 3} more folders that are "
                              "not complete, consistent runs")
        rows = _write_result(result, output_format, out, force)
    except QueryError as exc:
        raise fail(str(exc)) from None
    finally:
        con.close()
    if rows is not None:
        console.print(f"wrote {rows:,} rows to {out}")


def _write_result(result, output_format: str, out: Path | None, force: bool) -> int | None:
    """Write a query's result as asked; the rows written to ``out`` (None when printed)."""
    import io
    import json

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from scsim import numbers
    from scsim.io.run_dir import OutputError, write_atomically

    rows = 0

    def stream(write_batch) -> None:
        nonlocal rows
        for batch in result.batches:
            rows += batch.num_rows
            write_batch(batch)

    def to_file(write) -> int:
        try:
            write_atomically(out, write, replace=force)
        except OutputError as exc:
            raise fail(str(exc)) from None
        return rows

    if output_format == "parquet":
        def parquet(path: Path) -> None:
            with pq.ParquetWriter(path, result.schema, compression="zstd") as writer:
                stream(writer.write_batch)
        return to_file(parquet)
    if output_format == "csv":
        if out is not None:
            def csv(path: Path) -> None:
                with pacsv.CSVWriter(str(path), result.schema) as writer:
                    stream(writer.write_batch)
            return to_file(csv)
        header = True
        for batch in result.batches:
            buffer = io.BytesIO()
            pacsv.write_csv(pa.Table.from_batches([batch], result.schema), buffer,
                            pacsv.WriteOptions(include_header=header))
            header = False
            print(printable(buffer.getvalue().decode()), end="")
        if header:  # no rows: the header alone
            buffer = io.BytesIO()
            pacsv.write_csv(result.schema.empty_table(), buffer)
            print(printable(buffer.getvalue().decode()), end="")
        return None
    table = result.table()
    if output_format == "json":
        text = json.dumps([{k: _json_value(v) for k, v in row.items()}
                           for row in table.to_pylist()], indent=2, default=str,
                          allow_nan=False) + "\n"
    else:
        shown = Table(show_edge=False)
        for name in table.column_names:
            shown.add_column(name, overflow="fold")
        for row in table.to_pylist():
            shown.add_row(*(_cell(v, numbers) for v in row.values()))
        if out is None:
            console.print(shown)
            console.print(f"{table.num_rows:,} row{'' if table.num_rows == 1 else 's'}")
            return None
        capture = SafeConsole(file=io.StringIO(), width=200, markup=False)
        capture.print(shown)
        text = capture.file.getvalue()
    if out is None:
        print(printable(text), end="")
        return None
    rows = table.num_rows
    return to_file(lambda path: path.write_text(text, encoding="utf-8"))


def _json_value(value):
    """JSON has no NaN or infinity: a float that is not finite is null; a decimal is a
    number."""
    import decimal
    import math

    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _cell(value, numbers) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return numbers.count(value)
    if isinstance(value, float):
        return numbers.rate(value)
    return str(value)
