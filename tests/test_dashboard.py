"""``scsim dashboard``: the registry in a real browser (Chromium, driven by Playwright).

The dashboard runs as ``scsim dashboard`` does, in a process of its own on a
free port of 127.0.0.1, and is stopped (with every process it started) when
the module's tests end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scsim.cli import app

from conftest import R0, SCENARIOS

runner = CliRunner()
CHROMIUM = os.environ.get("SCSIM_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(out: Path, *args: str) -> Path:
    result = runner.invoke(app, ["run", *args, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """Two paired demo runs of one world (the second with more trips attempted) and an
    unpaired R0 run."""
    root = tmp_path_factory.mktemp("registry")
    demo = [str(SCENARIOS / "demo.toml"), "--population", "20000", "--days", "120",
            "--counterfactual", "none"]
    _run(root / "demo-paired", *demo)
    _run(root / "demo-more-trips", *demo, "--set", "measures.travel_ban.daily_trip_rate=0.05")
    _run(root / "r0-unpaired", str(R0), "--population", "5000", "--days", "60")
    result = runner.invoke(app, ["ensemble", str(SCENARIOS / "demo.toml"), "--replicates", "2",
                                 "--population", "5000", "--days", "60", "--out",
                                 str(root / "demo-ensemble"), "--quiet", "--workers", "1"])
    assert result.exit_code == 0, result.output
    from test_fit import synthetic_figures, truth_scenario

    truth = root.parent / "truth.toml"
    truth.write_text(truth_scenario(synthetic_figures(101)))
    for command in (["fit", str(truth), "--particles", "10", "--generations", "1", "--out",
                     str(root / "truth-fit"), "--workers", "1", "-q"],
                    ["predict", str(root / "truth-fit"), "--draws", "3", "--seeds", "1",
                     "--workers", "1", "-q"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    return root


def _serve(root: Path, *more: str):
    """``scsim dashboard`` on a free port; (process, base address) once it answers."""
    pytest.importorskip("solara", reason="the dashboard extra (pip install 'scsim[dashboard]')")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "scsim", "dashboard", "--root", str(root), "--port", str(port),
         *more], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as answer:
                if answer.status == 200:
                    return process, base
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("the dashboard did not start: "
                        + process.stdout.read().decode(errors="replace")[-2000:])
        time.sleep(0.3)


def _stop(process) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def dashboard(registry):
    process, base = _serve(registry)
    yield base
    _stop(process)
    assert process.poll() is not None


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium, or set SCSIM_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Page:
    """A browser page that records every console error and failed request."""

    def __init__(self, browser, width: int = 1280):
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # (leaving a page aborts Solara's goodbye to the server: not a failure)
        self.page.on("requestfailed", lambda r: "/_solara/api/close/" not in r.url
                     and self.errors.append(f"failed: {r.url}"))

    def open(self, address: str, text: str):
        self.page.goto(address)
        self.page.get_by_text(text).first.wait_for(timeout=30_000)
        return self.page

    def overflow(self) -> int:
        """Pixels the page is wider than its window (0: no horizontal scrolling)."""
        return self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_without_the_extra_the_command_says_how_to_get_it(monkeypatch, tmp_path):
    import scsim.dashboard

    monkeypatch.setattr(scsim.dashboard, "have_solara", lambda: False)
    result = runner.invoke(app, ["dashboard", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: the dashboard needs its optional extra: pip "
                                     "install 'scsim[dashboard]' (make demo and make test "
                                     "install it)")


def test_a_missing_root_and_a_busy_port_are_one_line(tmp_path):
    pytest.importorskip("solara")
    result = runner.invoke(app, ["dashboard", "--root", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "--root: " in result.output and "no such folder" in \
        result.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["dashboard", "--root", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 2 and f"--port: 127.0.0.1:{port} is not free" in result.output


def test_the_list_shows_every_run_and_filters_by_scenario(dashboard, browser, registry):
    page = Page(browser)
    p = page.open(dashboard + "/", "7 of 7 shown")  # 3 runs, an ensemble of 2, a fit
    assert sorted(p.locator("#runs tr.entry td a").all_inner_texts()) == [
        "demo-ensemble", "demo-ensemble/replicate=0", "demo-ensemble/replicate=1",
        "demo-more-trips", "demo-paired", "r0-unpaired", "truth-fit"]
    p.get_by_label("scenario").click(force=True)
    p.get_by_role("option", name="r0", exact=True).click()
    p.get_by_text("1 of 7 shown").wait_for()
    assert p.locator("#runs tr.entry td a").all_inner_texts() == ["r0-unpaired"]
    assert page.errors == []


def test_a_run_page_shows_the_ledgers_totals(dashboard, browser, registry):
    """Every headline figure on the page is the run's ledger.json total; the quantities the
    demo cannot produce (it has no employment penalty, school admission, account
    suspension) are named, not shown as 0."""
    page = Page(browser)
    p = page.open(dashboard + "/run?path=demo-paired", "Headline: benefit and harm")
    ledger = json.loads((registry / "demo-paired" / "ledger.json").read_text())
    shown = {row.get_attribute("data-quantity"): row.locator(".total").inner_text()
             for row in p.locator("#headline tr[data-quantity]").all()}
    assert {"sanctioned", "wrongly_sanctioned", "behaviours_prevented"} <= set(shown)
    for quantity, text in shown.items():
        assert text == f"{ledger['totals'][quantity]:,}", quantity
    assert not {"income_lost", "children_penalised", "speech_blocked"} & set(shown)
    assert "cannot produce them" in p.locator("#headline-section").inner_text()
    p.locator("#figures figure img").first.wait_for(timeout=60_000)
    assert p.evaluate("Array.from(document.images).filter(i => !i.naturalWidth).length") == 0
    assert page.errors == []


def test_an_unknown_run_is_said_to_be_so(dashboard, browser):
    page = Page(browser)
    page.open(dashboard + "/run?path=../../etc", "No run '../../etc' in the registry")
    assert page.errors == []


@pytest.mark.parametrize(("address", "text"), [
    ("/", "7 of 7 shown"), ("/run?path=demo-paired", "Life stories"),
    ("/compare?runs=demo-paired,demo-more-trips", "The figures overlaid"),
    ("/explore", "Levers: what the system does"), ("/experiments", "truth-fit"),
    ("/experiment?path=demo-ensemble", "All citizens"),
    ("/experiment?path=truth-fit", "Posterior predictive")])
def test_every_page_fits_a_phone_without_errors(dashboard, browser, address, text, tmp_path):
    """At 390 px wide no page scrolls sideways (a wide table scrolls inside itself), and no
    page logs an error."""
    page = Page(browser, width=390)
    page.open(dashboard + address, text)
    page.page.wait_for_timeout(1000)
    page.page.screenshot(path=str(tmp_path / "phone.png"))
    assert page.overflow() <= 0
    assert page.errors == []


def test_compare_shows_the_paired_differences_of_scsim_compare(dashboard, browser, registry):
    """The same world, another trip rate: the page's differences are compare_runs' own
    (what scsim compare prints), exact paired differences, largest first."""
    from scsim.compare import compare_runs
    from scsim.io.stored_run import read_run

    expected = compare_runs([read_run(registry / "demo-paired"),
                             read_run(registry / "demo-more-trips")])
    page = Page(browser)
    p = page.open(dashboard + "/compare?runs=demo-paired,demo-more-trips",
                  "Differences from the base, largest first")
    section = p.locator("#differences-section")
    assert "exact paired difference" in section.inner_text()
    shown = {row.get_attribute("data-quantity"): row.locator(".difference")
             .get_attribute("data-value") for row in section.locator("tr[data-quantity]").all()}
    for row in expected.rows:
        d = row.difference(1)
        assert shown[row.quantity] == ("" if d is None else str(d)), row.quantity
    assert expected.rows[[r.quantity for r in expected.rows].index("trips_denied")] \
        .difference(1) > 0
    first = section.locator("tr[data-quantity]").first.get_attribute("data-quantity")
    assert first == "trips_denied"  # (the largest change, relative to the base)
    p.locator("#figures figure img").first.wait_for(timeout=60_000)
    page.open(dashboard + "/compare?runs=demo-paired,r0-unpaired",
              "Differences from the base, largest first")
    assert "are not paired differences" in p.locator("#differences-section").inner_text()
    assert page.errors == []


@pytest.fixture(scope="module")
def explore(tmp_path_factory):
    """A dashboard of an empty registry of its own, that launches runs."""
    root = tmp_path_factory.mktemp("explored")
    process, base = _serve(root)
    yield root, base
    _stop(process)


SEEN = """() => { window.seen = []; new MutationObserver(() => {
  for (const c of ['explore-progress', 'explore-done', 'explore-cancelled'])
    if (document.querySelector('.' + c) && !window.seen.includes(c)) window.seen.push(c);
}).observe(document.body, {childList: true, subtree: true, characterData: true}); }"""


def _set_citizens(p, n: int) -> None:
    box = p.get_by_label("citizens (at most 1,000,000)")
    box.fill(str(n))
    box.press("Enter")


def test_explore_launches_a_run_that_lands_in_the_registry(explore, browser):
    """Untick the travel ban, launch 1e5 citizens for a year paired with none: progress is
    shown, the run finishes, and it is a run of the registry (under Runs, and complete on
    disk) without the travel ban."""
    root, base = explore
    page = Page(browser)
    p = page.open(base + "/explore", "Levers: what the system does")
    p.get_by_label("travel ban").uncheck(force=True)
    _set_citizens(p, 100_000)
    p.evaluate(SEEN)
    p.get_by_role("button", name="Launch").click()
    p.locator(".explore-done").wait_for(timeout=120_000)
    assert p.evaluate("window.seen")[:2] == ["explore-progress", "explore-done"]
    name = p.locator(".explore-done a").inner_text()
    summary = json.loads((root / name / "summary.json").read_text())
    assert summary["population"] == 100_000 and summary["days"] == 365
    assert "travel_ban" not in summary["scenario"]["measures"] or \
        summary["scenario"]["measures"]["travel_ban"] is None
    assert summary["counterfactual"]["label"] == "none"
    p = page.open(base + "/", "1 of 1 shown")
    assert p.locator("#runs tr.entry td a").all_inner_texts() == [name]
    assert page.errors == []


def test_cancelling_a_launch_leaves_nothing_half_written(explore, browser):
    root, base = explore
    before = sorted(p.name for p in root.iterdir())
    page = Page(browser)
    p = page.open(base + "/explore", "Levers: what the system does")
    _set_citizens(p, 1_000_000)
    p.get_by_role("button", name="Launch").click()
    p.locator(".explore-progress").wait_for(timeout=60_000)
    p.get_by_role("button", name="Cancel").click()
    p.locator(".explore-cancelled").wait_for(timeout=60_000)
    time.sleep(1)
    assert sorted(p.name for p in root.iterdir()) == before  # no run, no hidden partial
    _set_citizens(p, 2_000_000)
    p.get_by_role("button", name="Launch").click()
    p.locator(".explore-message").wait_for()
    assert "at most 1,000,000 citizens" in p.locator(".explore-message").inner_text()
    assert sorted(p.name for p in root.iterdir()) == before
    assert page.errors == []


def test_a_read_only_dashboard_launches_nothing(registry, browser):
    process, base = _serve(registry, "--read-only")
    try:
        before = sorted(p.name for p in registry.iterdir())
        page = Page(browser)
        p = page.open(base + "/explore", "read-only")
        p.get_by_role("button", name="Launch").click()
        p.locator(".explore-message").wait_for()
        assert "read-only" in p.locator(".explore-message").inner_text()
        assert sorted(p.name for p in registry.iterdir()) == before
        assert page.errors == []
    finally:
        _stop(process)


def test_experiments_show_bands_indices_and_posteriors(dashboard, browser):
    page = Page(browser)
    p = page.open(dashboard + "/experiments", "Experiments: ensembles")
    assert sorted(p.locator("#experiments tr.entry td a").all_inner_texts()) == [
        "demo-ensemble", "truth-fit"]
    p = page.open(dashboard + "/experiment?path=demo-ensemble", "All citizens")
    p.locator("#figure-blacklisted-band img").wait_for()
    p = page.open(dashboard + "/experiment?path=truth-fit", "Posterior predictive")
    p.locator("#figure-posterior img").wait_for()
    p.locator("#figure-posterior-predictive img").wait_for()
    assert p.locator("#prediction-section tr[data-target]").count() == 4
    assert page.errors == []


def test_explore_builds_ordinary_scenarios_and_says_what_cannot_run():
    """The levers are what scsim attribute switches off, the controls every ASSUMPTION with
    its range; pairing with the preset as it is needs the same world."""
    from scsim.dashboard.explore import Choice, ExploreError, build, controls, presets

    found = presets()
    assert {"demo", "national", "r0"} <= set(found)
    demo = controls(found["demo"])
    assert [lever.name for lever in demo.levers] == ["deterrence", "travel_ban"]
    national = controls(found["national"])
    assert national.uncertain and all(u.low < u.high for u in national.uncertain)
    assert all("ASSUMPTION" in u.tip for u in national.uncertain)
    loaded, pairing = build(Choice(found["demo"], 1000, 30, off=("travel_ban",)))
    assert loaded.scenario.measures.travel_ban is None and pairing.label == "none"
    assert loaded.scenario.population.size == 1000 and loaded.scenario.run.days == 30
    _, preset = build(Choice(found["demo"], 1000, 30, off=("travel_ban",),
                             pairing="the preset as it is"))
    assert preset.scenario.measures.travel_ban is not None
    with pytest.raises(ExploreError, match="changes the world"):
        build(Choice(found["demo"], 1000, 30, values=(("behaviours.traffic_offence.daily_rate",
                                                       1e-4),), pairing="the preset as it is"))
    with pytest.raises(ExploreError, match="at most 1,000,000 citizens"):
        build(Choice(found["demo"], 1_000_001, 30))
    with pytest.raises(ExploreError, match="daily_rate"):
        build(Choice(found["demo"], 1000, 30, values=(("behaviours.traffic_offence.daily_rate",
                                                       2.0),)))


ORPHAN = """
import sys, time
from pathlib import Path
from scsim.dashboard.explore import Choice, build, presets
from scsim.dashboard.jobs import Launcher
from scsim.scenario.load import load_scenario

demo = presets()["demo"]
launcher = Launcher(load_scenario(demo).scenario.model_dump(mode="json"))
launcher.start()
loaded, pairing = build(Choice(demo, 1_000_000, 365))
launcher.launch(loaded, pairing, Path(sys.argv[1]) / "orphaned")
while launcher.poll().state != "running":
    time.sleep(0.1)
print(launcher._process.pid, flush=True)
time.sleep(600)
"""


def test_a_run_worker_ends_with_its_server_and_removes_its_partial_run(tmp_path):
    """A server killed outright (SIGKILL: no exit handler runs) must not leave its run worker
    behind, nor the hidden folder of the run it was writing."""
    import psutil

    root = tmp_path / "runs"
    root.mkdir()
    server = subprocess.Popen([sys.executable, "-c", ORPHAN, str(root)], stdout=subprocess.PIPE)
    try:
        worker = psutil.Process(int(server.stdout.readline()))
        assert any(root.iterdir())  # the run's partial folder, being written
    finally:
        server.kill()
        server.wait()
    worker.wait(timeout=60)  # (raises psutil.TimeoutExpired if it outlives its server)
    assert list(root.iterdir()) == []


LEAN = """
import sys
from pathlib import Path
from scsim.dashboard import explore, server, views

root = Path(sys.argv[1])
server.warm()
views.run_sections(root, "demo-paired"), views.run_figures(root, "demo-paired")
views.comparison(root, ["demo-paired", "demo-more-trips"])
views.comparison_figures(root, ["demo-paired", "demo-more-trips"])
demo = explore.presets()["demo"]
explore.build(explore.Choice(demo, 1000, 30, off=("travel_ban",)))
explore.controls(demo)
print(sorted(m for m in ("numba", "llvmlite") if m in sys.modules))
"""


def test_the_server_draws_every_page_without_numba(registry):
    """numba and LLVM are a third of a process's memory; only the run worker needs them
    (docs/performance.md: the dashboard's memory)."""
    shown = subprocess.run([sys.executable, "-c", LEAN, str(registry)], capture_output=True,
                           text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_a_page_is_drawn_once_however_many_ask_and_again_when_rewritten(tmp_path):
    import threading

    from scsim.dashboard import views

    (tmp_path / "run").mkdir()
    calls = []
    gate = threading.Event()

    def draw():
        gate.wait(5)
        calls.append(1)
        return f"drawn {len(calls)}"

    seen = []
    askers = [threading.Thread(target=lambda: seen.append(
        views.drawn_once("test", tmp_path, ["run"], draw))) for _ in range(4)]
    for t in askers:
        t.start()
    gate.set()
    for t in askers:
        t.join()
    assert seen == ["drawn 1"] * 4 and len(calls) == 1
    (tmp_path / "run").rename(tmp_path / "old")  # written again: another folder
    (tmp_path / "run").mkdir()
    assert views.drawn_once("test", tmp_path, ["run"], draw) == "drawn 2"
