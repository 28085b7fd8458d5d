"""What people look at: figures, the HTML report in a real browser, compare, damaged folders."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pytest
from typer.testing import CliRunner

from scsim import plots
from scsim.cli import app
from scsim.io.stored_run import read_run

from conftest import R0, SCENARIOS

runner = CliRunner()
CHROMIUM = os.environ.get("SCSIM_CHROMIUM", "/usr/bin/chromium")


def _run(out: Path, *args: str) -> Path:
    result = runner.invoke(app, ["run", *args, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A paired demo run with saved life stories, and an unpaired R0 run (no grades)."""
    base = tmp_path_factory.mktemp("runs")
    demo = _run(base / "demo", str(SCENARIOS / "demo.toml"), "--population", "20000",
                "--days", "200", "--counterfactual", "none")
    saved = runner.invoke(app, ["trace", str(demo), "--sample", "2", "--only", "sanctioned",
                                "--save"])
    assert saved.exit_code == 0, saved.output
    r0 = _run(base / "r0", str(R0), "--population", "5000", "--days", "100")
    return read_run(demo), read_run(r0)


def test_score_bands_has_one_panel_per_group(runs):
    demo, _ = runs
    fig = plots.score_bands(demo)
    assert len(fig.axes) == len(demo.groups)
    for ax, group in zip(fig.axes, demo.groups, strict=True):
        assert ax.get_title() == group
        assert ax.get_xlabel() == "day of the run"
        assert [line.get_label() for line in ax.lines] == ["median", "mean"]
        assert len(ax.collections) == 1  # the 10th-90th percentile band
    assert fig.axes[0].get_ylabel() == "score (points)"
    plt.close(fig)


def test_blacklisted_and_denied_trips_draw_one_series_per_group(runs):
    demo, _ = runs
    for draw, column, cumulative in ((plots.blacklisted, "blacklisted", False),
                                     (plots.denied_trips, "denied_trips", True)):
        fig = draw(demo)
        (ax,) = fig.axes
        assert [line.get_label() for line in ax.lines] == demo.groups
        assert "per 100,000" in ax.get_ylabel() and ax.get_xlabel() == "day of the run"
        for g, line in enumerate(ax.lines):
            values = demo.daily[column][:, g]
            expected = (np.cumsum(values) if cumulative else values)[-1] \
                / demo.daily["population"][-1, g] * 1e5
            assert line.get_ydata()[-1] == pytest.approx(expected)
        plt.close(fig)


def test_wrongful_versus_rightful_stacks_two_series_per_group(runs):
    demo, _ = runs
    fig = plots.wrongful_vs_rightful(demo)
    assert len(fig.axes) == len(demo.groups)
    for ax in fig.axes:
        assert len(ax.collections) == 2
    labels = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert labels == ["other blacklisted", "blacklisted only because of false records"]
    plt.close(fig)


def test_speech_shows_lost_speech_only_when_paired(runs):
    demo, r0 = runs
    paired = plots.speech(demo)
    labels = [line.get_label() for line in paired.axes[0].lines]
    assert labels[-1] == "lost against the counterfactual" and len(labels) == 4
    per_100k = demo.daily["speech_events"].sum() / demo.daily["population"][0].sum() * 100_000
    assert paired.axes[0].lines[0].get_ydata()[-1] == pytest.approx(per_100k, rel=1e-12)
    assert len(plots.speech(r0).axes[0].lines) == 3
    plt.close("all")


def test_grade_transitions_matrix_and_its_absence_without_grades(runs):
    demo, r0 = runs
    fig = plots.grade_transitions(demo)
    ax, colorbar = fig.axes
    assert colorbar.get_ylabel() == "log10(moves + 1)"
    grades = [g.name.upper() for g in demo.scenario.scheme.grades]
    assert [t.get_text() for t in ax.get_xticklabels()] == grades
    assert ax.get_xlabel() == "to grade" and ax.get_ylabel() == "from grade"
    assert len(ax.images) == 1
    assert plots.grade_transitions(r0) is None
    plt.close(fig)


def test_disparity_marks_the_four_fifths_rule(runs):
    demo, _ = runs
    fig = plots.disparity(demo.ledger)
    rates_ax, ax = fig.axes
    assert ax.get_xscale() == "log" and rates_ax.get_xscale() == "log"
    assert [t.get_text() for t in rates_ax.get_legend().get_texts()] == demo.groups
    assert "rate per 100,000" in rates_ax.get_xlabel()
    vertical = sorted(line.get_xdata()[0] for line in ax.lines
                      if line.get_linestyle() != "None")  # not the error bars' caps
    assert vertical == pytest.approx([0.8, 1.0, 1.25])
    assert ax.collections, "ratios carry their 95% intervals as error bars"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "four-fifths rule (0.8 and 1.25)" in labels
    assert sum("/ majority" in label for label in labels) == len(demo.groups) - 1
    ratio = demo.ledger["disparity"]["false_records"]["targeted_minority"]["ratio"]
    assert any(p.get_x() + p.get_width() == pytest.approx(ratio) for p in ax.patches)
    plt.close(fig)


def test_save_writes_png_and_svg(runs, tmp_path):
    demo, _ = runs
    fig = plots.blacklisted(demo)
    png, svg = plots.save(fig, tmp_path / "blacklisted")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text()[:500] and "blacklisted per 100,000" in svg.read_text()
    plt.close(fig)


def test_plot_command_saves_every_figure_as_png_and_svg(runs, tmp_path):
    demo, _ = runs
    result = runner.invoke(app, ["plot", str(demo.path), "--out", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "figs").iterdir())
    drawn = [n for n in plots.FIGURES if n != "schedule_timeline"]  # (the demo has no schedule)
    expected = sorted(f"{n}.{ext}" for n in [*drawn, "disparity"] for ext in ("png", "svg"))
    assert names == expected
    assert "left out schedule_timeline: the scenario has no dated schedule" in " ".join(
        result.output.split())


def _browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium, or set SCSIM_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def test_report_opens_offline_in_a_real_browser_and_shows_the_ledger(runs, tmp_path):
    demo, _ = runs
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(demo.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    ledger = json.loads((demo.path / "ledger.json").read_text())
    errors, requests = [], []
    with _browser() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        shown = {}
        for row in page.locator("#headline tr[data-quantity]").all():
            shown[row.get_attribute("data-quantity")] = row.locator(".total").inner_text()
        images = page.locator("figure img").count()
        broken = page.evaluate("Array.from(document.images).filter(i => !i.naturalWidth).length")
        stories = page.locator("#stories ~ h4").count()
        browser.close()
    assert errors == []
    assert requests == [out.as_uri()]
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert shown, "no headline numbers on the page"
    for quantity, text in shown.items():
        total = ledger["totals"][quantity]
        assert text == (f"{total:,}" if total is not None else "not measured"), quantity
    assert "behaviours_prevented" in shown and "wrongly_sanctioned" in shown
    assert images == len(plots.FIGURES) and broken == 0  # (all but the schedule, + disparity)
    kinds = json.loads((demo.path / "stories.json").read_text())["stories"]
    assert len(kinds) >= 2  # one of each kind the run has: listed, false records, ...
    assert stories == len(kinds) + 2  # ... and the two sampled


def test_run_report_option_writes_the_page(tmp_path):
    out = _run(tmp_path / "r", str(R0), "--population", "2000", "--days", "30", "--report")
    text = (out / "report.html").read_text()
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert 'data-quantity="sanctioned"' in text


def test_compare_a_run_with_itself_reports_no_difference(runs, tmp_path):
    demo, _ = runs
    html = tmp_path / "compare.html"
    result = runner.invoke(app, ["compare", str(demo.path), str(demo.path), "--html", str(html)],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "no differences" in result.output
    assert "common random numbers" in result.output
    rows = [line for line in result.output.splitlines() if "(harm;" in line or "(benefit;" in line]
    assert len(rows) == len(demo.ledger["totals"])
    assert all(line.rstrip().endswith((" 0", "n/a")) for line in rows), rows
    assert html.read_text().count("class='difference'>0</td>") == sum(
        v is not None for v in demo.ledger["totals"].values())


def test_compare_says_when_runs_do_not_share_draws(runs, tmp_path):
    _, r0 = runs
    other = _run(tmp_path / "seed2", str(R0), "--population", "5000", "--days", "100",
                 "--seed", "2")
    result = runner.invoke(app, ["compare", str(r0.path), str(other)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "differences include sampling noise" in result.output


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "no such run folder"),
        ("partial", "daily.parquet: missing (not a complete scsim run folder)"),
        ("corrupt_parquet", "daily.parquet: unreadable or corrupt"),
        ("corrupt_ledger", "ledger.json: unreadable or corrupt"),
        ("ledger_without_totals", "ledger.json: corrupt: no format, scenario, paired"),
    ],
)
@pytest.mark.parametrize("command", ["report", "compare"])
def test_damaged_run_folders_get_a_clear_message_and_exit_2(runs, tmp_path, damage, message,
                                                            command):
    _, r0 = runs
    folder = tmp_path / "damaged"
    if damage != "missing":
        shutil.copytree(r0.path, folder)
    if damage == "partial":
        (folder / "daily.parquet").unlink()
    elif damage == "corrupt_parquet":
        data = (folder / "daily.parquet").read_bytes()
        (folder / "daily.parquet").write_bytes(data[: len(data) // 2])
    elif damage == "corrupt_ledger":
        (folder / "ledger.json").write_text('{"totals": {')
    elif damage == "ledger_without_totals":
        (folder / "ledger.json").write_text("{}")
    args = [str(folder)] if command == "report" else [str(r0.path), str(folder)]
    result = runner.invoke(app, [command, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (folder / "report.html").exists()


def test_compare_does_not_difference_quantities_measured_against_other_baselines(runs, tmp_path):
    """Trips denied of a run paired with another policy are 'beyond that policy's'."""
    _, r0 = runs
    lenient = tmp_path / "lenient.toml"
    lenient.write_text(R0.read_text().replace("blacklist_below = 600", "blacklist_below = 300"))
    other = _run(tmp_path / "paired", str(R0), "--population", "5000", "--days", "100",
                 "--counterfactual", str(lenient))
    result = runner.invoke(app, ["compare", str(r0.path), str(other)], terminal_width=200)
    assert result.exit_code == 0, result.output
    trips = next(line for line in result.output.splitlines() if line.startswith(" trips_denied"))
    assert trips.rstrip().endswith("other baseline")
    sanctioned = next(line for line in result.output.splitlines()
                      if line.startswith(" sanctioned"))
    assert sanctioned.rstrip().endswith(" 0")  # same world and seed: the same citizens listed
    assert "paired with another counterfactual" in result.output


def test_bench_runs_at_a_tiny_size(tmp_path):
    """scsim bench finds its scenario (it once looked in src/scenarios) and writes its JSON
    (with the universal kernel, which the suite has compiled already: the specialised one
    would cost two compiles here)."""
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--sizes", "500", "--repeats", "1",
                                      "--kernel", "universal", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cases = json.loads(out.read_text())["results"]
    assert [c["population"] for c in cases] == [500, 500]
    assert {c["kernel"] for c in cases} == {"universal"}


def test_report_and_plot_with_an_empty_group(tmp_path):
    """At 100 citizens the demo's targeted minority (2%) may be empty: nothing may crash."""
    out = _run(tmp_path / "small", str(SCENARIOS / "demo.toml"), "--population", "40",
               "--days", "30", "--counterfactual", "none")
    assert 0 in read_run(out).daily["population"][0]
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    plotted = runner.invoke(app, ["plot", str(out)])
    assert plotted.exit_code == 0, plotted.output
    page = (out / "report.html").read_text()
    assert "no citizens in" in " ".join(plotted.output.split()) or "Left out" in page


def test_many_groups_are_drawn_as_the_largest_few(tmp_path):
    groups = ",".join(f"{{name='g{k}',share=0.005}}" for k in range(200))
    out = _run(tmp_path / "many", str(R0), "--population", "20000", "--days", "30",
               "--set", f"population.groups=[{groups}]",
               "--set", "channels.traffic_cameras.detection_by_group={}",
               "--set", "channels.traffic_cameras.false_attribution.rate_by_group={}",
               "--set", "channels.online_monitoring.detection_by_group={}")
    stored = read_run(out)
    assert len(plots.shown_groups(stored)) == plots.MAX_GROUPS_SHOWN
    assert len(plots.score_bands(stored).axes) == plots.MAX_GROUPS_SHOWN
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    page = (out / "report.html").read_text()
    assert page.count("<tr data-group=") == 200  # one row per group, not 200 columns
    assert "smaller groups not drawn" in page or "not drawn" in page


def test_compare_says_what_each_total_is(tmp_path):
    # (the presets' whole history, 4,475 days, is reported from 2025 on: a burn-in)
    safe = _run(tmp_path / "safe", str(SCENARIOS / "safeguards.toml"), "--population", "1024",
                "--counterfactual", str(SCENARIOS / "national.toml"))
    nat = _run(tmp_path / "nat", str(SCENARIOS / "national.toml"), "--population", "1024",
               "--counterfactual", "none")
    result = runner.invoke(app, ["compare", str(nat), str(safe), "--html",
                                 str(tmp_path / "c.html")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "trips_denied (harm; paired difference)" in text
    assert "sanctioned (harm; level)" in text
    assert "nat: paired with 'none'" in text and "safe: paired with" in text
    assert "paired difference" in (tmp_path / "c.html").read_text()


def test_the_demo_measures_both_sides_of_its_ledger(tmp_path):
    """make demo's scenario, paired with no system, prevents offences and lists wrongly."""
    out = _run(tmp_path / "demo", str(SCENARIOS / "demo.toml"), "--population", "200000",
               "--counterfactual", "none")
    totals = json.loads((out / "ledger.json").read_text())["totals"]
    assert totals["behaviours_prevented"] > 0 and totals["speech_lost"] > 0
    assert totals["wrongly_sanctioned"] > 0 and totals["sanctioned"] > 0
    assert "--counterfactual none" in (Path(__file__).parents[1] / "Makefile").read_text()


def test_the_report_says_what_each_headline_figure_rests_on(tmp_path):
    from scsim.provenance import rests_on
    from scsim.scenario import load_scenario
    from scsim.scenario.pairing import no_system

    out = _run(tmp_path / "nat", str(SCENARIOS / "national.toml"), "--population", "1024",
               "--counterfactual", "none")
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    page = (out / "report.html").read_text()
    s = load_scenario(SCENARIOS / "national.toml").scenario
    wrongly = rests_on(s, "wrongly_sanctioned")
    assumed = [p for p, _ in wrongly.assumptions]
    assert "channels.courts.false_attribution.daily_rate" in assumed
    assert not any(p.startswith(("deterrence.", "measures.")) for p in assumed)
    assert f"rests on {wrongly.sentence()}" in page
    assert page.count('class="measure rests"') == len(plots_quantities(s, no_system(s)))
    assert "id='sources-table'" in page and "deterrence.speech_sensitivity" in page
    # the list's stock and flows, burn-in included in the running totals (national starts
    # reporting in 2025 with the list the history built)
    flows = json.loads((out / "ledger.json").read_text())["stock_and_flows"]
    section = page[page.index("id='stock-and-flows'"):page.index("id='since-the-run-began'")]
    assert flows["listed_at_start"] > 0
    for figure in (flows["listed_at_start"], flows["listings"], flows["listed_at_end"],
                   *(n for n in flows["exits_by_cause"].values() if n)):
        assert f"{figure:,}" in section
    assert "left: the judgment performed" in section
    assert "They include the burn-in, the days before 2025-01-01" in page
    demo = runner.invoke(app, ["report", str(_run(tmp_path / "demo", str(SCENARIOS / "demo.toml"),
                                                  "--population", "500", "--days", "10"))])
    assert demo.exit_code == 0
    assert "no <code>[sources]</code> table" in (tmp_path / "demo" / "report.html").read_text()


def plots_quantities(s=None, counterfactual=None):
    """The quantities a report shows (those of the run's modules too, given its scenario)."""
    from scsim.ledger import quantities

    return [q for q in quantities(s, counterfactual) if q.name != "counterfactual_sanctioned"]


@pytest.fixture(scope="module")
def dated_runs(tmp_path_factory):
    """R0 from 2018-01-01 with a schedule, over 120 days and over its last 60 (burn-in)."""
    base = tmp_path_factory.mktemp("dated")
    scenario = base / "dated.toml"
    scenario.write_text(f'extends = "{R0}"\n[run]\nstart = 2018-01-01\ndays = 120\n\n'
                        '[[schedule]]\ndate = 2018-03-01\n'
                        'set = {{ "channels.traffic_cameras.detection" = 0.9 }}\n'.replace(
                            "{{", "{").replace("}}", "}"))
    whole = _run(base / "whole", str(scenario), "--population", "20000")
    late = _run(base / "late", str(scenario), "--population", "20000",
                "--set", "run.report_from=2018-03-02")
    return scenario, read_run(whole), read_run(late)


def test_figures_of_a_dated_run_have_date_axes_and_mark_the_schedule(dated_runs):
    _, whole, _ = dated_runs
    fig = plots.blacklisted(whole)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "date"
    marks = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(marks) == 1  # the schedule's one change, on 2018-03-01
    assert np.datetime64(marks[0].get_xdata()[0], "D") == np.datetime64("2018-03-01")
    plt.close(fig)


def test_the_schedule_timeline_draws_each_entry_where_it_acts_and_the_burn_in(dated_runs):
    _, whole, late = dated_runs
    fig = plots.schedule_timeline(whole)
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == [
        "traffic_cameras.detection 0.3 to 0.9"]
    (diamond,) = [line for line in ax.lines if line.get_marker() == "D"]
    assert np.datetime64(diamond.get_xdata()[0], "D") == np.datetime64("2018-03-01")
    lo, hi = ax.get_xlim()  # the whole run, 2018-01-01 to its 120th day
    assert (mdates.num2date(lo).date(), mdates.num2date(hi).date()) == (
        dt.date(2018, 1, 1), dt.date(2018, 4, 30))
    assert not ax.patches  # no ramp, no burn-in
    plt.close(fig)
    fig = plots.schedule_timeline(late)
    (burn_in,) = fig.axes[0].patches  # shaded from the start to report_from
    x0, x1 = burn_in.get_x(), burn_in.get_x() + burn_in.get_width()
    assert (mdates.num2date(x0).date(), mdates.num2date(x1).date()) == (
        dt.date(2018, 1, 1), dt.date(2018, 3, 2))
    plt.close(fig)


def test_a_ramp_is_a_bar_over_its_span_on_the_timeline(tmp_path):
    scenario = tmp_path / "ramp.toml"
    scenario.write_text(f'extends = "{R0}"\n[run]\nstart = 2018-01-01\ndays = 60\n\n'
                        '[[schedule]]\nfrom = 2018-01-11\nto = 2018-02-10\nstep_days = 10\n'
                        'ramp = { "channels.traffic_cameras.coverage" = 0.5 }\n')
    run = read_run(_run(tmp_path / "out", str(scenario), "--population", "2000"))
    fig = plots.schedule_timeline(run)
    (bar,) = fig.axes[0].patches
    x0, x1 = bar.get_x(), bar.get_x() + bar.get_width()
    assert (mdates.num2date(x0).date(), mdates.num2date(x1).date()) == (
        dt.date(2018, 1, 11), dt.date(2018, 2, 10))
    plt.close(fig)
    assert plots.schedule_timeline(read_run(_run(tmp_path / "undated", str(R0), "--population",
                                                 "2000", "--days", "5"))) is None


def test_the_report_of_a_scheduled_run_has_its_timeline(dated_runs):
    from scsim.report import run_report

    _, whole, late = dated_runs
    page = run_report(whole)
    assert '<h2 id="timeline">Timeline</h2>' in page
    assert "channels.traffic_cameras.detection: 0.3 &rarr; 0.9" in page
    assert "the burn-in ends" in run_report(late)


def test_compare_runs_over_different_periods_on_their_common_dates(dated_runs):
    """The whole run and its burn-in twin share every draw, so on their common dates every
    total that is a sum of daily counts is the same; counts of citizens are not compared."""
    from scsim.compare import compare_runs

    _, whole, late = dated_runs
    comparison = compare_runs([whole, late])
    assert [str(d) for d in comparison.window] == ["2018-03-02", "2018-04-30"]
    rows = {row.quantity: row for row in comparison.rows}
    assert rows["days_blacklisted"].totals[0] == rows["days_blacklisted"].totals[1] > 0
    assert rows["days_blacklisted"].totals[0] < whole.ledger["totals"]["days_blacklisted"]
    assert rows["sanctioned"].totals == [None, None]
    assert comparison.identical
    shown = runner.invoke(app, ["compare", str(whole.path), str(late.path)])
    assert shown.exit_code == 0, shown.output
    assert "common days 2018-03-02 to 2018-04-30" in " ".join(shown.output.split())
