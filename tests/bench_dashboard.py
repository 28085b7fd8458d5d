"""Benchmark of the dashboard (docs/performance.md): not a test, run by hand.

    .venv/bin/python tests/bench_dashboard.py [RUNS]

Builds a registry of RUNS copies (default 1,000) of one small R0 run, plus a
paired demo run to open and compare, serves it with ``scsim dashboard``,
and measures in Chromium (Playwright): the server's start (reading the
registry), each page's first paint (from the address to its first content;
the median of LOADS loads, each left open for PAUSE_MS), an Explore launch of
1e5 citizens for a year from the click to its result, and the server's
resident memory after each page (its run worker apart).
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from solara.util import parse_timedelta

from scsim.dashboard.server import PAGE_KEPT
from scsim.dashboard.views import CACHED_PAGES

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
LOADS = 5
PAUSE_MS = 4000
"""Each load stays open this long before the next: a visitor reads the page while its figures
are drawn, rather than loading it three times in a row (which would measure each load
against the drawing of the one before)."""


def scsim(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "scsim", *args], check=True,
                   stdout=subprocess.DEVNULL)


def registry(folder: Path, runs: int) -> None:
    scsim("run", str(ROOT / "scenarios/r0.toml"), "--population", "2000", "--days", "30",
          "--out", str(folder / "r0-0000"), "-q")
    for k in range(1, runs):
        shutil.copytree(folder / "r0-0000", folder / f"r0-{k:04d}")
    for name, more in (("demo-a", []), ("demo-b", ["--set",
                                                   "measures.travel_ban.daily_trip_rate=0.05"])):
        scsim("run", str(ROOT / "scenarios/demo.toml"), "--population", "20000", "--days",
              "120", "--counterfactual", "none", "--out", str(folder / name), "-q", *more)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # each figure as soon as it is measured
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        root.mkdir()
        registry(root, runs)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "scsim", "dashboard", "--root",
                                   str(root), "--port", str(port)], stdout=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        process = psutil.Process(server.pid)

        def memory() -> str:
            return f"server {process.memory_info().rss / 2**20:.0f} MiB"

        print(f"{runs + 2} runs: the server answers after {time.perf_counter() - started:.1f} s"
              f" ({memory()})")
        pages = [("/", f"{runs + 2} of {runs + 2} shown"),
                 ("/run?path=demo-a", "Headline: benefit and harm"),
                 ("/compare?runs=demo-a,demo-b", "Differences from the base"),
                 ("/explore", "Levers: what the system does"),
                 ("/experiments", "Experiments")]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for address, text in pages:
                times = []
                for _ in range(LOADS):
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    t = time.perf_counter()
                    page.goto(base + address)
                    page.get_by_text(text).first.wait_for(timeout=60_000)
                    times.append(time.perf_counter() - t)
                    page.wait_for_timeout(PAUSE_MS)  # (what the page draws after, drawn)
                    page.close()
                print(f"first paint {address}: median {statistics.median(times):.2f} s "
                      f"({', '.join(f'{x:.2f}' for x in times)}; {memory()})")
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/explore")
            page.get_by_text("Levers: what the system does").wait_for()
            page.wait_for_timeout(5000)  # (the worker's kernel warm, as a user finds it)
            box = page.get_by_label("citizens (at most 1,000,000)")
            box.fill("100000")
            box.press("Enter")
            t = time.perf_counter()
            page.get_by_role("button", name="Launch").click()
            page.locator(".explore-done").wait_for(timeout=120_000)
            print(f"Explore, 1e5 citizens x 365 days paired with none: result shown "
                  f"{time.perf_counter() - t:.2f} s after the click")
            visited = min(runs, 2 * CACHED_PAGES)
            for k in range(visited):  # more runs than the pages it keeps drawn
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{base}/run?path=r0-{k:04d}")
                page.locator("#figures").wait_for(timeout=60_000)
                page.close(run_before_unload=True)  # (as a tab closes)
            print(f"after {visited} more runs' pages, figures and all: {memory()}")
            browser.close()
        time.sleep(parse_timedelta(PAGE_KEPT) + 20)  # (Solara's reading of it)
        print(f"{PAGE_KEPT} later, the closed pages freed: {memory()}")
        own = process.memory_info().rss
        workers = sum(c.memory_info().rss for c in process.children(recursive=True))
        print(f"server resident memory {own / 2**20:.0f} MiB (its run worker apart: "
              f"{workers / 2**20:.0f} MiB)")
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
