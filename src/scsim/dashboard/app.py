"""The dashboard's pages (Solara): Runs, a run, and the pages still to come.

Imported by Solara's server with the settings ``scsim.dashboard.server`` puts
in the environment.  Every page reads through ``catalog`` and ``views``;
nothing here touches a file by a name the browser sent without finding it in
the catalog first.
"""

from __future__ import annotations

import dataclasses
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


def _figures(drawing) -> None:
    """Figures drawn in a thread (``solara.use_thread``): shown once drawn, or what stops them."""
    if drawing.state == solara.ResultState.FINISHED:
        solara.HTML(unsafe_innerHTML=f"<div id='figures'>{drawing.value}</div>")
    elif drawing.state == solara.ResultState.ERROR:
        solara.Error(f"The figures cannot be drawn: {drawing.error}")
    else:
        solara.Text("drawing the figures...")


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
    _figures(figures)
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
    figures = solara.use_thread(
        lambda: views.comparison_figures(ROOT, list(known)) if len(known) >= 2 else "",
        [known])
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
    for title, anchor, html in result.value:
        solara.HTML(tag="h3", unsafe_innerHTML=views.esc(title))
        solara.HTML(unsafe_innerHTML=f"<div id='{anchor}-section'>{html}</div>")
    solara.HTML(tag="h3", unsafe_innerHTML="The figures overlaid")
    _figures(figures)


_LAUNCHER = None


def launcher():
    """The worker that runs what Explore launches (started with the app, so that its kernel
    is warm before the first click); None on a read-only dashboard."""
    global _LAUNCHER
    if READ_ONLY:
        return None
    if _LAUNCHER is None:
        from scsim.dashboard.explore import presets
        from scsim.dashboard.jobs import Launcher
        from scsim.scenario.load import load_scenario

        demo = load_scenario(presets()["demo"]).scenario.model_dump(mode="json")
        _LAUNCHER = Launcher(demo)
        _LAUNCHER.start()
    return _LAUNCHER


def _slider(u, value: float, on_value) -> None:
    """A control of one ASSUMPTION within its range (on a log scale where it spans 100-fold or
    more), with what it is on hover."""
    import math

    with solara.Tooltip(u.tip):
        if u.low > 0 and u.high / u.low >= 100:
            low, high = math.log10(u.low), math.log10(u.high)
            solara.SliderFloat(f"{u.path} = {value:.3g}",
                               value=math.log10(value) if value > 0 else low,
                               on_value=lambda x: on_value(float(10 ** x)), min=low, max=high,
                               step=(high - low) / 100)
        elif u.integer:
            solara.SliderInt(f"{u.path} = {int(value)}", value=int(value), on_value=on_value,
                             min=int(u.low), max=int(u.high))
        else:
            solara.SliderFloat(f"{u.path} = {value:.3g}", value=value, on_value=on_value,
                               min=u.low, max=u.high, step=(u.high - u.low) / 100)


@solara.component
def ExplorePage():
    from scsim.dashboard.explore import (
        MAX_POPULATION,
        PAIRINGS,
        Choice,
        ExploreError,
        build,
        controls,
        presets,
    )

    found = presets()
    preset = solara.use_reactive("demo" if "demo" in found else next(iter(found), ""))
    about = solara.use_memo(lambda: controls(found[preset.value]) if preset.value else None,
                            [preset.value])
    population = solara.use_reactive(100_000)
    days = solara.use_reactive(365)
    pairing = solara.use_reactive(PAIRINGS[0])
    off = solara.use_reactive(())
    values = solara.use_reactive({})
    message = solara.use_reactive("")
    job, set_job = solara.use_state(None)
    tick, set_tick = solara.use_state(0)

    def reset_for(name: str) -> None:
        preset.set(name)
        off.set(())
        values.set({})
        message.set("")

    running = job is not None and job.state in ("waiting", "running")

    def follow():  # poll the worker while the job runs
        import time

        if not running:
            return
        time.sleep(0.2)
        set_tick(tick + 1)

    solara.use_thread(follow, [running, tick])
    live = launcher().poll() if (launcher() is not None and job is not None) else None
    if live is not None and job is not None and live.number == job.number and (
            live.state != job.state or live.fraction != job.fraction):
        set_job(dataclasses.replace(live))

    solara.HTML(tag="h2", unsafe_innerHTML="Explore")
    solara.Select("preset", values=list(found), value=preset.value, on_value=reset_for)
    if about is None:
        solara.Error("No preset found.")
        return
    solara.HTML(tag="p", unsafe_innerHTML=views.esc(about.description), classes=["note"])
    with solara.Row(style={"flex-wrap": "wrap", "gap": "8px"}):
        solara.InputInt(f"citizens (at most {MAX_POPULATION:,})", value=population)
        solara.InputInt("days", value=days)
        solara.Select("paired with", values=list(PAIRINGS), value=pairing)
    if about.levers:
        solara.HTML(tag="h3", unsafe_innerHTML="Levers: what the system does")
        with solara.Row(style={"flex-wrap": "wrap"}):
            for lever in about.levers:
                def toggle(on: bool, name=lever.name) -> None:
                    off.set(tuple(n for n in off.value if n != name) if on
                            else (*off.value, name))

                with solara.Tooltip(lever.tip):
                    solara.Checkbox(label=lever.title, value=lever.name not in off.value,
                                    on_value=toggle)
    if about.uncertain:
        solara.HTML(tag="h3", unsafe_innerHTML="Uncertain values (ASSUMPTIONs), within their "
                    "stated ranges")
        for u in about.uncertain:
            def changed(x: float, path=u.path) -> None:
                values.set(values.value | {path: x})

            _slider(u, values.value.get(u.path, u.value), changed)

    def launch() -> None:
        if launcher() is None:
            message.set("This dashboard is read-only (--read-only): it shows stored results "
                        "and launches nothing.")
            return
        from scsim.io.run_dir import default_run_folder

        try:
            loaded, paired = build(Choice(found[preset.value], int(population.value or 0),
                                          int(days.value) if days.value else None,
                                          tuple(off.value), tuple(values.value.items()),
                                          pairing.value))
        except ExploreError as exc:
            message.set(str(exc))
            return
        out = ROOT / default_run_folder(loaded, paired).name
        if out.exists():
            message.set(f"This exact run is already in the registry: {out.name}.")
            set_job(None)
            return
        try:
            set_job(dataclasses.replace(launcher().launch(loaded, paired, out)))
            message.set("")
        except RuntimeError as exc:
            message.set(str(exc))

    def cancel() -> None:
        if launcher() is not None:
            launcher().cancel()
            set_job(dataclasses.replace(launcher().poll()))

    with solara.Row():
        solara.Button("Launch", on_click=launch, disabled=running, color="primary")
        solara.Button("Cancel", on_click=cancel, disabled=not running)
    if READ_ONLY:
        solara.Warning("This dashboard is read-only (--read-only): it shows stored results "
                       "and launches nothing.")
    if message.value:
        solara.Warning(message.value, classes=["explore-message"])
    if job is not None:
        if running:
            solara.Text(f"running {job.out.name}: {job.fraction:.0%}" if job.fraction < 1
                        else f"writing {job.out.name}...", classes=["explore-progress"])
            solara.ProgressLinear(value=max(1.0, 100 * job.fraction))
        elif job.state == "done":
            with solara.Row(classes=["explore-done"]):
                solara.Text(f"done in {job.seconds:.1f} s: now in the registry as")
                solara.Link(f"/run?path={quote(job.out.name)}",
                            children=[solara.Text(job.out.name)])
        elif job.state == "cancelled":
            solara.Info(f"Cancelled: nothing of {job.out.name} was written.",
                        classes=["explore-cancelled"])
        else:
            solara.Error(f"The run failed: {job.message}")


@solara.component
def ExperimentsPage():
    entries = solara.use_memo(_entries, [])
    shown = [e for e in entries if e.kind != "run"]
    solara.HTML(tag="h2", unsafe_innerHTML="Experiments: ensembles, sweeps, screenings, fits")
    if not shown:
        solara.Info("No experiment in this registry yet: scsim ensemble, sweep, screen or fit "
                    "write them.")
        return
    rows = "".join(
        f"<tr class='entry' data-kind='{e.kind}'><td><a href='{_href(e)}'>{views.esc(e.path)}"
        f"</a></td><td>{e.kind}</td><td>{views.esc(e.scenario)}</td><td>{e.day}</td>"
        f"<td>{views.esc(e.label)}</td></tr>" for e in shown)
    solara.HTML(unsafe_innerHTML=(
        "<table id='experiments'><tr><th>folder</th><th>kind</th><th>scenario</th><th>day</th>"
        "<th>what</th></tr>" + rows + "</table>"))


@solara.component
def ExperimentPage():
    path = _query("path")
    entries = solara.use_memo(_entries, [])
    entry = next((e for e in entries if e.kind != "run" and e.path == path), None)
    known = None if entry is None else (entry.path, entry.kind)
    result = solara.use_thread(
        lambda: views.experiment_sections(ROOT, *known) if known else [], [known])
    if entry is None:
        solara.Error(f"No experiment {path!r} in the registry {ROOT}.")
        return
    solara.HTML(tag="h2", unsafe_innerHTML=views.esc(f"{entry.path} ({entry.kind} of "
                                                      f"{entry.scenario})"))
    if result.state == solara.ResultState.ERROR:
        solara.Error(f"This {entry.kind} cannot be shown: {result.error}")
    elif result.state != solara.ResultState.FINISHED:
        solara.Text("reading...")
    else:
        for title, anchor, html in result.value:
            solara.HTML(tag="h3", unsafe_innerHTML=views.esc(title))
            solara.HTML(unsafe_innerHTML=f"<div id='{anchor}-section'>{html}</div>")


routes = [
    solara.Route(path="/", component=RunsPage, label="Runs", layout=Layout),
    solara.Route(path="run", component=RunPage, label="Run"),
    solara.Route(path="compare", component=ComparePage, label="Compare"),
    solara.Route(path="explore", component=ExplorePage, label="Explore"),
    solara.Route(path="experiments", component=ExperimentsPage, label="Experiments"),
    solara.Route(path="experiment", component=ExperimentPage, label="Experiment"),
]
