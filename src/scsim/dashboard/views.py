"""What the dashboard's pages show, as HTML built by the report's own functions.

The dashboard and ``scsim report`` draw the same tables and figures (the same
palette, line styles and hatches, the same notes on what each figure is and
rests on), so a page in the browser and a page on disk never disagree.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

CACHED_PAGES = 16
"""How many drawn pages (a run's figures, a comparison) the dashboard keeps: each is under
a MiB of PNG as text (0.2 to 0.6 MiB measured), so memory stays bounded whatever the
registry's size."""
_drawn: OrderedDict[tuple, object] = OrderedDict()
_drawing: dict[tuple, threading.Lock] = {}
_guard = threading.Lock()


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _version(folder: Path) -> tuple[int, int]:
    """Which write of a folder this is: a run written again (``--force``) replaces the
    folder, so its inode or modification time changes."""
    stat = folder.stat()
    return stat.st_ino, stat.st_mtime_ns


def drawn_once(what: str, root: Path, paths: list[str], draw: Callable[[], object]) -> object:
    """``draw()``, computed once per version of the folders however many pages ask for it at
    the same time (the others wait for the first), and kept for the next visit (the last
    CACHED_PAGES)."""
    key = (what, str(root), tuple(paths), tuple(_version(root / p) for p in paths))
    with _guard:
        if key in _drawn:
            _drawn.move_to_end(key)
            return _drawn[key]
        lock = _drawing.setdefault(key, threading.Lock())
    with lock:
        with _guard:
            if key in _drawn:
                return _drawn[key]
        value = draw()
        with _guard:
            _drawn[key] = value
            while len(_drawn) > CACHED_PAGES:
                _drawn.popitem(last=False)
            _drawing.pop(key, None)
    return value


def _run(root: Path, path: str):
    """The stored run at ``path`` below ``root`` (which the caller found in the catalog)."""
    from scsim.io.stored_run import read_run

    return read_run(root / path)


def run_sections(root: Path, path: str) -> list[tuple[str, str, str]]:
    """(title, anchor, HTML) of a run's page, figures apart: the headline (benefit beside
    harm, with intervals, what each rests on, the weighing) and the timeline first, then
    the disparities, the life stories, the provenance and the sources."""
    from scsim.describe import description_html
    from scsim.ledger import impossible_quantities
    from scsim.report import (
        disparities_html,
        headline_html,
        provenance_html,
        sources_html,
        stories_html,
        timeline_html,
    )

    run = _run(root, path)
    s = run.scenario
    absent = impossible_quantities(s, run.counterfactual if run.paired else None)
    sections = [
        ("Headline: benefit and harm", "headline-section",
         headline_html(run.ledger, s.population.size, run.declared_population, s, absent)),
        ("What was simulated", "scenario", description_html(s) + timeline_html(s)),
    ]
    if "by_region" in run.ledger:
        sections.append(("Disparity, largest first", "disparities",
                         disparities_html(run.ledger)))
    sections += [("Life stories", "stories", stories_html(run.traces, run.stories)),
                 ("Provenance", "provenance", provenance_html(run)),
                 ("What the figures rest on", "sources", sources_html(s))]
    return sections


def run_figures(root: Path, path: str) -> str:
    """The run's figures as embedded images with their captions (the report's), drawn once
    per run (``drawn_once``)."""
    return drawn_once("figures", root, [path], lambda: _draw_run_figures(root, path))


def _draw_run_figures(root: Path, path: str) -> str:
    from scsim.plots import all_figures, caption, left_out
    from scsim.report import figure_html

    run = _run(root, path)
    figures = all_figures(run)
    parts = [figure_html(name, fig, caption(name, run)) for name, fig in figures.items()]
    for fig in figures.values():
        fig.clear()  # (their memory back now, not at the next collection)
    missing = left_out(figures)
    if missing:
        parts.append("<p class='note'>Left out, because they would be empty or flat: "
                     + "; ".join(f"{esc(name.replace('_', ' '))} ({esc(why)})"
                                 for name, why in missing.items()) + ".</p>")
    return "\n".join(parts)


def comparison(root: Path, paths: list[str]) -> list[tuple[str, str, str]]:
    """Sections of two or more runs compared (the first is the base): whether each shares
    the base's world, its ledger beside the base's, and every difference from the base,
    largest first (by size relative to the base's total); drawn once per set of runs."""
    return drawn_once("comparison", root, paths, lambda: _compare(root, paths))


def comparison_figures(root: Path, paths: list[str]) -> str:
    """The runs' figures overlaid, as HTML; drawn once per set of runs."""
    return drawn_once("overlaid", root, paths, lambda: _overlay(root, paths))


def _overlay(root: Path, paths: list[str]) -> str:
    from scsim.plots import comparison_figures as overlaid
    from scsim.report import figure_html

    figures = overlaid([_run(root, path) for path in paths])
    html_ = "\n".join(figure_html(name, fig, fig.axes[0].get_title())
                      for name, fig in figures.items())
    for fig in figures.values():
        fig.clear()
    return html_


def _compare(root: Path, paths: list[str]) -> list[tuple[str, str, str]]:
    from scsim.compare import compare_runs, relative
    from scsim.report import comparison_sections

    runs = [_run(root, path) for path in paths]
    result = compare_runs(runs)
    sections = comparison_sections(result, figures=False)
    differences = []
    for row in result.rows:
        for k in range(1, len(runs)):
            d = row.difference(k)
            base = row.totals[0]
            size = (abs(d) / abs(base) if base else (float("inf") if d else 0.0)) \
                if d is not None else -1.0
            differences.append((size, row, k, d))
    differences.sort(key=lambda x: (-x[0], x[1].quantity))
    body = "".join(
        f"<tr data-quantity='{row.quantity}' data-run='{esc(runs[k].name)}'>"
        f"<td>{esc(row.quantity.replace('_', ' '))} <span class='note'>({row.side}; "
        f"{esc(row.measure)})</span></td><td>{esc(runs[k].name)}</td>"
        f"<td class='difference' data-value='{'' if d is None else d}'>"
        f"{esc(relative(d, row.totals[0], row.comparable[k]))}</td></tr>"
        for _, row, k, d in differences)
    sentence = ("every run shares the base's world and citizens: each difference is an exact "
                "paired difference (the same citizens under the same draws)"
                if all(result.common_random_numbers[1:]) else
                "some runs do not share the base's world or seed: their differences include "
                "sampling noise, and are not paired differences")
    sections.append(("Differences from the base, largest first", "differences",
                     f"<p><b>{esc(sentence)}</b>.</p><table id='differences'><tr><th>total"
                     "</th><th>run</th><th>minus the base's</th></tr>" + body + "</table>"))
    return sections


def experiment_sections(root: Path, path: str, kind: str) -> list[tuple[str, str, str]]:
    """(title, anchor, HTML) of an ensemble (its bands), a sweep or screening (its indices as
    bars with intervals) or a fit (its posterior's marginals, and after ``scsim predict``
    the published figures against the predictive bands over dates): the pages ``scsim``
    writes beside them."""
    from scsim.experiments.report import ensemble_sections, fit_sections, sweep_sections

    folder = root / path
    if kind == "ensemble":
        return ensemble_sections(folder)
    if kind == "fit":
        return fit_sections(folder)
    return sweep_sections(folder)
