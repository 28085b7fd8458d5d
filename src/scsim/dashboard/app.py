"""The dashboard's pages (Solara): Runs, a run, and the pages still to come.

Imported by Solara's server with the settings ``scsim.dashboard.server`` puts
in the environment.  Every page reads through ``catalog`` and ``views``;
nothing here touches a file by a name the browser sent without finding it in
the catalog first.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, quote

import solara

from scsim.dashboard import catalog as cat
from scsim.dashboard import views
from scsim.dashboard.server import READ_ONLY_VARIABLE, ROOT_VARIABLE

ROOT = Path(os.environ.get(ROOT_VARIABLE, "runs"))
READ_ONLY = os.environ.get(READ_ONLY_VARIABLE) == "1"
ANY = "any"
PAGE_CSS = """
.scsim-page { max-width: 1200px; margin: 0 auto; padding: 8px 12px; overflow-wrap: break-word; }
.scsim-page table { border-collapse: collapse; max-width: 100%; display: block;
  overflow-x: auto; }  /* a wide table scrolls inside itself, never the page */
.scsim-page td, .scsim-page th { padding: 2px 6px; border-bottom: 1px solid #ddd;
  text-align: right; vertical-align: top; }
.scsim-page td:first-child, .scsim-page th:first-child { text-align: left; }
.scsim-page .wide { overflow-x: auto; max-width: 100%; }
.scsim-page img { max-width: 100%; height: auto; }
.scsim-page .note, .scsim-page .measure { color: #555; font-size: 0.9em; }
.scsim-page .side { display: flex; flex-wrap: wrap; gap: 16px; }
.scsim-page .side > div { flex: 1 1 320px; min-width: 0; overflow-x: auto; }
.scsim-nav a { margin-right: 12px; }
"""


def _query(name: str) -> str | None:
    """A parameter of the page's address (``?name=value``)."""
    search = solara.use_router().search or ""
    values = parse_qs(search).get(name)
    return values[0] if values else None


@solara.component
def Layout(children=[]):  # noqa: B006 (Solara's signature)
    solara.Style(PAGE_CSS)
    with solara.Column(classes=["scsim-page"]):
        with solara.Row(classes=["scsim-nav"], style={"flex-wrap": "wrap"}):
            solara.HTML(tag="b", unsafe_innerHTML="scsim")
            for label, path in (("Runs", "/"), ("Compare", "/compare"),
                                ("Explore", "/explore"), ("Experiments", "/experiments")):
                solara.Link(path, children=[solara.Text(label)])
            solara.Text(f"registry: {ROOT}" + (" (read-only)" if READ_ONLY else ""),
                        style={"color": "#555"})
        solara.Column(children=children)


def _entries() -> list[cat.Entry]:
    return cat.catalog(ROOT)


@solara.component
def RunsPage():
    refreshed, set_refreshed = solara.use_state(0)
    entries = solara.use_memo(_entries, [refreshed])
    scenario = solara.use_reactive(ANY)
    kind = solara.use_reactive(ANY)
    paired = solara.use_reactive(ANY)
    since = solara.use_reactive("")
    until = solara.use_reactive("")
    smallest = solara.use_reactive("")
    largest = solara.use_reactive("")
    scenarios = sorted({e.scenario for e in entries})

    def number(text: str) -> int | None:
        try:
            return int(float(text.replace(",", "").replace("_", ""))) if text.strip() else None
        except ValueError:
            return None

    filters = cat.Filters(
        scenario=None if scenario.value == ANY else scenario.value,
        kind=None if kind.value == ANY else kind.value,
        since=since.value or None, until=until.value or None,
        min_population=number(smallest.value), max_population=number(largest.value),
        paired=None if paired.value == ANY else paired.value == "paired")
    shown = cat.filtered(entries, filters)
    solara.HTML(tag="h2", unsafe_innerHTML="Runs and experiments")
    with solara.Row(style={"flex-wrap": "wrap", "gap": "8px"}):
        solara.Select("scenario", values=[ANY, *scenarios], value=scenario)
        solara.Select("kind", values=[ANY, *cat.KINDS], value=kind)
        solara.Select("pairing", values=[ANY, "paired", "unpaired"], value=paired)
        solara.InputText("from day (YYYY-MM-DD)", value=since)
        solara.InputText("to day", value=until)
        solara.InputText("population at least", value=smallest)
        solara.InputText("population at most", value=largest)
        solara.Button("Refresh", on_click=lambda: set_refreshed(refreshed + 1), text=True)
    solara.Text(f"{len(shown)} of {len(entries)} shown", classes=["runs-count"])
    rows = "".join(
        f"<tr class='entry' data-kind='{e.kind}'><td><a href='{_href(e)}'>{views.esc(e.path)}"
        f"</a></td><td>{e.kind}</td><td class='scenario'>{views.esc(e.scenario)}</td>"
        f"<td>{e.day}</td><td>{'' if e.population is None else f'{e.population:,}'}</td>"
        f"<td>{views.esc(e.label)}</td></tr>" for e in shown[:500])
    more = ("<p class='note'>The first 500 are shown; filter to see the others.</p>"
            if len(shown) > 500 else "")
    solara.HTML(unsafe_innerHTML=(
        "<div class='wide'><table id='runs'><tr><th>folder</th><th>kind</th><th>scenario</th>"
        "<th>day</th><th>citizens</th><th>what</th></tr>" + rows + "</table></div>" + more))


def _href(entry: cat.Entry) -> str:
    page = "run" if entry.kind == "run" else "experiment"
    return f"/{page}?path={quote(entry.path)}"


@solara.component
def RunPage():
    path = _query("path")
    entries = solara.use_memo(_entries, [])
    entry = next((e for e in entries if e.kind == "run" and e.path == path), None)
    known = None if entry is None else entry.path  # (never a name the browser made up)
    head = solara.use_memo(lambda: views.run_sections(ROOT, known) if known else [], [known])
    figures = solara.use_thread(lambda: views.run_figures(ROOT, known) if known else "",
                                [known])
    if entry is None:
        solara.Error(f"No run {path!r} in the registry {ROOT}.")
        return
    solara.HTML(tag="h2", unsafe_innerHTML=views.esc(f"{entry.path} ({entry.scenario})"))
    for title, anchor, html in head[:2]:
        solara.HTML(tag="h3", unsafe_innerHTML=views.esc(title))
        solara.HTML(unsafe_innerHTML=f"<div id='{anchor}'>{html}</div>")
    solara.HTML(tag="h3", unsafe_innerHTML="Figures")
    if figures.state == solara.ResultState.FINISHED:
        solara.HTML(unsafe_innerHTML=f"<div id='figures'>{figures.value}</div>")
    elif figures.state == solara.ResultState.ERROR:
        solara.Error(f"The figures cannot be drawn: {figures.error}")
    else:
        solara.Text("drawing the figures...")
    for title, anchor, html in head[2:]:
        solara.HTML(tag="h3", unsafe_innerHTML=views.esc(title))
        solara.HTML(unsafe_innerHTML=f"<div id='{anchor}'>{html}</div>")


@solara.component
def ComparePage():
    given = [p for p in (_query("runs") or "").split(",") if p]
    entries = solara.use_memo(_entries, [])
    runs = [e.path for e in entries if e.kind == "run"]
    chosen = solara.use_reactive([p for p in given if p in runs])
    known = tuple(p for p in chosen.value if p in runs)  # (never a name the browser made up)
    result = solara.use_thread(
        lambda: views.comparison(ROOT, list(known)) if len(known) >= 2 else None, [known])
    solara.HTML(tag="h2", unsafe_innerHTML="Compare runs")
    solara.SelectMultiple("runs (the first is the base)", all_values=runs, values=chosen)
    unknown = [p for p in given if p not in runs]
    if unknown:
        solara.Error(f"No run {unknown[0]!r} in the registry {ROOT}.")
    if len(known) < 2:
        solara.Info("Choose two or more runs.")
        return
    if result.state == solara.ResultState.ERROR:
        solara.Error(f"These runs cannot be compared: {result.error}")
        return
    if result.state != solara.ResultState.FINISHED or result.value is None:
        solara.Text("comparing...")
        return
    sections, figures = result.value
    for title, anchor, html in sections:
        solara.HTML(tag="h3", unsafe_innerHTML=views.esc(title))
        solara.HTML(unsafe_innerHTML=f"<div id='{anchor}-section'>{html}</div>")
    solara.HTML(tag="h3", unsafe_innerHTML="The figures overlaid")
    solara.HTML(unsafe_innerHTML=f"<div id='figures'>{figures}</div>")


@solara.component
def NotYet():
    solara.Info("This page is not built yet (issue 37): use the command line meanwhile "
                "(scsim compare, scsim run, scsim report on an experiment's folder).")


routes = [
    solara.Route(path="/", component=RunsPage, label="Runs", layout=Layout),
    solara.Route(path="run", component=RunPage, label="Run"),
    solara.Route(path="compare", component=ComparePage, label="Compare"),
    solara.Route(path="explore", component=NotYet, label="Explore"),
    solara.Route(path="experiments", component=NotYet, label="Experiments"),
    solara.Route(path="experiment", component=NotYet, label="Experiment"),
]
