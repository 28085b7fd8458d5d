"""Figures of a stored run: pure functions from a run folder's contents to matplotlib figures.

Nothing here simulates: every figure is drawn from ``daily.parquet``,
``grade_transitions.parquet`` and ``ledger.json``.  Colours are the
Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), and every group also has its own line style and marker, so the
figures survive greyscale printing.  ``save`` writes PNG and SVG.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

from scsim.io.stored_run import StoredRun

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
             "#F0E442")
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
FOUR_FIFTHS = 0.8
PER = 100_000

plt.rcParams.update({
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",  # text stays text in SVG
})


def subplots(*grid: int, figsize: tuple[float, float], **kwargs):
    """A figure and its axes, like ``plt.subplots`` but not kept by pyplot (library figures
    are freed when dropped, however many a report draws)."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(*grid, **kwargs)


def style(k: int) -> dict:
    """Colour, line style and marker of the k-th series."""
    return {"color": OKABE_ITO[k % len(OKABE_ITO)], "linestyle": LINE_STYLES[k % len(LINE_STYLES)],
            "marker": MARKERS[k % len(MARKERS)], "markevery": 0.1, "markersize": 5}


MAX_GROUPS_SHOWN = 6
"""Per-group figures show at most this many groups: the reference and the largest others."""


def shown_groups(run: StoredRun) -> list[tuple[int, str]]:
    """(index, name) of the groups a per-group figure draws: those with citizens, the reference
    group first, then the largest others, at most MAX_GROUPS_SHOWN."""
    population = run.daily["population"][0]
    present = [g for g in range(len(run.groups)) if population[g] > 0]
    if len(present) > MAX_GROUPS_SHOWN:
        first, rest = present[:1], sorted(present[1:], key=lambda g: -population[g])
        present = sorted(first + rest[: MAX_GROUPS_SHOWN - 1])
    return [(g, run.groups[g]) for g in present]


def groups_note(run: StoredRun) -> str:
    """What a per-group figure leaves out, in words ('' if nothing)."""
    population = run.daily["population"][0]
    empty = [name for g, name in enumerate(run.groups) if population[g] == 0]
    hidden = len(run.groups) - len(empty) - len(shown_groups(run))
    parts = []
    if empty:
        parts.append("no citizens in " + ", ".join(empty[:5])
                     + (f" and {len(empty) - 5} more" if len(empty) > 5 else ""))
    if hidden:
        parts.append(f"{hidden} smaller groups not drawn (see the table)")
    return "; ".join(parts)


def _days(run: StoredRun) -> np.ndarray:
    """The x values of daily series: dates when the run has a start date, else day numbers."""
    from scsim.scenario.schedule import dates_of

    days = run.daily["day"][:, 0]
    return days if run.scenario.run.start is None else dates_of(run.scenario, days)


def _time_axis(ax, run: StoredRun) -> None:
    """Label the time axis and draw the schedule as a timeline: a dotted line on each dated
    change, a shaded span over each ramp, each labelled with its note (or what it changes)."""
    s = run.scenario
    ax.set_xlabel("date" if s.run.start is not None else "day of the run")
    if not s.schedule:
        return
    days = run.daily["day"][:, 0]
    shown = (np.datetime64(s.run.start, "D") + np.timedelta64(int(days[0]) - 1, "D"),
             np.datetime64(s.run.start, "D") + np.timedelta64(int(days[-1]) - 1, "D"))
    labels: dict[np.datetime64, list[str]] = {}
    for entry in s.schedule:
        first = np.datetime64(entry.first, "D")
        if first > shown[1] or (entry.date is not None and first < shown[0]):
            continue
        if entry.date is not None:
            ax.axvline(first, color="#888888", linestyle=":", linewidth=1)
        else:
            ax.axvspan(max(first, shown[0]), min(np.datetime64(entry.to, "D"), shown[1]),
                       color="#888888", alpha=0.08, linewidth=0)
        labels.setdefault(max(first, shown[0]), []).append(
            entry.note or ", ".join([*(p.rsplit(".", 2)[-2] for p in entry.changes),
                                     *entry.in_force]))
    for x, said in labels.items():  # entries of one day share a label
        ax.annotate("; ".join(said)[:60], (x, 1), xycoords=("data", "axes fraction"),
                    rotation=90, fontsize=7, color="#555555", va="top", ha="right")


def _per_100k(values: np.ndarray, population: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(population > 0, values / population * PER, np.nan)


def score_bands(run: StoredRun) -> Figure | None:
    """Score over time, one panel per group: the 10th-90th percentile band, median and mean."""
    d = run.daily
    days = _days(run)
    groups = shown_groups(run)
    start = run.scenario.scheme.start_score
    moved = (d["score_p10"] != start) | (d["score_p90"] != start) | (
        np.nan_to_num(d["mean_score"], nan=start) != start)
    if not groups or not moved.any():
        return None  # nobody scored, or no score ever moved
    fig, axes = subplots(1, len(groups), figsize=(4 * len(groups), 4), sharey=True,
                         squeeze=False)
    for k, (ax, (g, name)) in enumerate(zip(axes[0], groups, strict=True)):
        st = style(k)
        ax.fill_between(days, d["score_p10"][:, g], d["score_p90"][:, g], color=st["color"],
                        alpha=0.25, linewidth=0, label="10th to 90th percentile")
        ax.plot(days, d["score_p50"][:, g], label="median", **st)
        ax.plot(days, d["mean_score"][:, g], label="mean", color="black", linestyle=":",
                linewidth=1.2)
        ax.set_title(name)
        _time_axis(ax, run)
    axes[0, 0].set_ylabel("score (points)")
    axes[0, -1].legend(loc="lower left", fontsize=9)
    fig.suptitle(_with_note("Score distribution by group", run))
    return fig


def _with_note(title: str, run: StoredRun) -> str:
    note = groups_note(run)
    return f"{title}\n({note})" if note else title


def _lines_per_group(run: StoredRun, column: str, *, cumulative: bool, ylabel: str,
                     title: str) -> Figure | None:
    """One line per group: a daily column (or its running total) per 100,000 of the group;
    None when the column is 0 throughout (a flat line says nothing)."""
    d = run.daily
    if not d[column].any():
        return None
    fig, ax = subplots(figsize=(8, 4.5))
    for k, (g, name) in enumerate(shown_groups(run)):
        values = np.cumsum(d[column][:, g]) if cumulative else d[column][:, g]
        ax.plot(_days(run), _per_100k(values, d["population"][:, g]), label=name, **style(k))
    _time_axis(ax, run)
    ax.set_ylabel(ylabel)
    ax.set_title(_with_note(title, run))
    ax.legend(loc="best")
    return fig


def blacklisted(run: StoredRun) -> Figure | None:
    """Citizens on the blacklist at the end of each day, per 100,000 of each group."""
    return _lines_per_group(run, "blacklisted", cumulative=False,
                            ylabel="blacklisted per 100,000 citizens",
                            title="Blacklisted, by group")


def wrongful_vs_rightful(run: StoredRun) -> Figure | None:
    """Blacklisted citizens split into wrongly (false records) and the rest, one panel per group."""
    d = run.daily
    days = _days(run)
    groups = shown_groups(run)
    if not groups or not d["blacklisted"].any():
        return None
    fig, axes = subplots(1, len(groups), figsize=(4 * len(groups), 4), sharey=True,
                         squeeze=False)
    what = ("blacklisted only because of false records" if run.paired
            else "blacklisted holding a false record")
    for ax, (g, name) in zip(axes[0], groups, strict=True):
        wrong = _per_100k(d["wrongly_blacklisted"][:, g], d["population"][:, g])
        right = _per_100k(d["blacklisted"][:, g] - d["wrongly_blacklisted"][:, g],
                          d["population"][:, g])
        ax.stackplot(days, right, wrong, labels=("other blacklisted", what),
                     colors=(OKABE_ITO[0], OKABE_ITO[1]), hatch=("", "xx"), alpha=0.85)
        ax.set_title(name)
        _time_axis(ax, run)
    axes[0, 0].set_ylabel("per 100,000 citizens")
    axes[0, -1].legend(loc="upper left", fontsize=9)
    fig.suptitle(_with_note("Wrongful and other sanctions" if run.paired else
                            "Sanctions with and without a false record", run))
    return fig


def speech(run: StoredRun) -> Figure | None:
    """Speech over the run, cumulative, per 100,000 citizens: committed, recorded, blocked and
    (paired) lost."""
    d = run.daily
    days = _days(run)
    if not d["speech_events"].any() and not (run.paired and d["speech_lost"].any()):
        return None
    series = [("committed", d["speech_events"]), ("recorded by monitors", d["recorded_speech"]),
              ("blocked (account suspended)", d["speech_blocked"])]
    if run.paired:
        series.append(("lost against the counterfactual", d["speech_lost"]))
    fig, ax = subplots(figsize=(8, 4.5))
    population = d["population"].sum(axis=1)
    for k, (label, values) in enumerate(series):
        ax.plot(days, _per_100k(np.cumsum(values.sum(axis=1)), population), label=label,
                **style(k))
    _time_axis(ax, run)
    ax.set_ylabel("posts since the first reported day per 100,000 citizens")
    ax.set_title("Speech: committed, recorded, blocked" + (", lost" if run.paired else ""))
    ax.legend(loc="best")
    return fig


def denied_trips(run: StoredRun) -> Figure | None:
    """Plane and high-speed-rail trips denied since day 1, per 100,000 of each group."""
    return _lines_per_group(run, "denied_trips", cumulative=True,
                            ylabel="trips denied per 100,000 citizens",
                            title="Denied trips (cumulative), by group")


def grade_transitions(run: StoredRun) -> Figure | None:
    """Moves between grades over the run, all groups: a from x to matrix; None without grades."""
    grades = [g.name for g in run.scenario.all_grades()]
    if not grades or run.transitions is None:
        return None
    table = run.transitions
    matrix = np.zeros((len(grades), len(grades)), dtype=np.int64)
    for a, b, n in zip(table.column("from_grade").to_pylist(), table.column("to_grade").to_pylist(),
                       table.column("citizens").to_pylist(), strict=True):
        matrix[grades.index(a), grades.index(b)] += n
    fig, ax = subplots(figsize=(1.1 * len(grades) + 3, 1.0 * len(grades) + 2))
    shown = np.log10(matrix + 1.0)
    np.fill_diagonal(shown, np.nan)  # staying in a grade is not a transition
    cmap = matplotlib.colormaps["cividis"].with_extremes(bad="#dddddd")
    image = ax.imshow(shown, cmap=cmap)
    for i in range(len(grades)):
        for j in range(len(grades)):
            if i != j:
                light = image.norm(np.log10(matrix[i, j] + 1)) > 0.6
                ax.text(j, i, f"{matrix[i, j]:,}", ha="center", va="center", fontsize=9,
                        color="black" if light else "white")
    labels = [g.upper() for g in grades]
    ax.set_xticks(range(len(grades)), labels)
    ax.set_yticks(range(len(grades)), labels)
    ax.set_xlabel("to grade")
    ax.set_ylabel("from grade")
    ax.set_title("Grade transitions over the run (citizens)")
    fig.colorbar(image, ax=ax, label="log10(moves + 1)")
    return fig


def disparity(ledger: dict) -> Figure | None:
    """Each quantity's rate per group, and its ratio to the reference group's (four-fifths band).

    Quantities with no defined ratio are left out (and listed under the axis).
    """
    reference = ledger["reference_group"]
    citizens = {g: entry["citizens"] for g, entry in ledger["by_group"].items()}
    others = sorted((g for g in citizens if g != reference and citizens[g] > 0),
                    key=lambda g: -citizens[g])[: MAX_GROUPS_SHOWN - 1]
    groups = [g for g in ledger["by_group"] if g in others]
    if not groups or citizens[reference] == 0:
        return None
    rows = []
    missing = []
    for q, by_group in ledger["disparity"].items():
        ratios = [by_group[g]["ratio"] for g in groups]
        if any(r is not None and r > 0 for r in ratios):
            rows.append((q, ratios))
        else:
            missing.append(q)
    if not rows:
        return None
    fig, (rates_ax, ax) = subplots(
        1, 2, sharey=True, figsize=(13, 0.5 * max(len(rows), 2) * max(len(groups), 1) + 1.5))
    everyone = [reference, *groups]
    spacing = 0.8 / len(everyone)
    for k, g in enumerate(everyone):
        st = style(k)
        entries = [ledger["by_group"][g]["quantities"][r[0]] for r in rows]
        rates = np.array([e["rate_per_100k"] if e["rate_per_100k"] else np.nan for e in entries])
        low = np.array([e["ci95_per_100k"][0] if e["ci95_per_100k"] else np.nan
                        for e in entries])
        high = np.array([e["ci95_per_100k"][1] if e["ci95_per_100k"] else np.nan
                         for e in entries])
        # centred on the row's ticks, which sit at the middle of its ratio bars
        ys = [i + 0.4 * (len(groups) - 1) / max(len(groups), 1)
              + (k - (len(everyone) - 1) / 2) * spacing for i in range(len(rows))]
        rates_ax.errorbar(rates, ys, xerr=[np.clip(rates - low, 0, None),
                                           np.clip(high - rates, 0, None)],
                          fmt=st["marker"], color=st["color"], capsize=2, label=g,
                          linestyle="none")
    rates_ax.set_xscale("log")
    rates_ax.set_xlabel("rate per 100,000 citizens, 95% interval (log scale)")
    rates_ax.set_title("Rates by group")
    rates_ax.legend(loc="best", fontsize=9)
    height = 0.8 / max(len(groups), 1)
    for k, g in enumerate(groups):
        st = style(k + 1)
        ys = [i + k * height for i in range(len(rows))]
        xs = np.array([r[1][k] if r[1][k] is not None and r[1][k] > 0 else np.nan
                       for r in rows])
        entries = [ledger["disparity"][r[0]][g] for r in rows]
        few = np.array([e["status"].startswith("too few") for e in entries])
        # bars grow from 1 (parity) to the ratio, left for below parity, right for above;
        # ratios on too few events are drawn faint
        bars = ax.barh(ys, xs - 1.0, left=1.0, height=height, color=st["color"],
                       hatch=("", "//", "..", "xx")[k % 4], label=f"{g} / {reference}",
                       edgecolor="black", linewidth=0.5)
        for bar, faint in zip(bars, few, strict=True):
            if faint:
                bar.set_alpha(0.3)
        ci = [e.get("ci95") for e in entries]
        low = np.array([c[0] if c and c[0] > 0 else np.nan for c in ci])
        high = np.array([c[1] if c else np.nan for c in ci])
        ax.errorbar(xs, ys, xerr=[np.clip(xs - low, 0, None), np.clip(high - xs, 0, None)],
                    fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    ax.set_xscale("log")
    plain = FuncFormatter(lambda x, _: f"{x:g}")  # ratios read as 0.5, 2, 10, not 2x10^0
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))  # 0.2, 0.5, 2, 5, ...
    ax.xaxis.set_minor_formatter(plain)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.axvline(FOUR_FIFTHS, color="black", linestyle="--", linewidth=1,
               label="four-fifths rule (0.8 and 1.25)")
    ax.axvline(1 / FOUR_FIFTHS, color="black", linestyle="--", linewidth=1)
    rates_ax.set_yticks([i + height * (len(groups) - 1) / 2 for i in range(len(rows))],
                        [r[0].replace("_", " ") for r in rows])
    rates_ax.invert_yaxis()
    label = textwrap.fill(f"rate ratio to {reference}, 95% interval (log scale); faint: "
                          f"fewer than {ledger.get('min_events_for_ratio', 10)} events", 70)
    if missing:
        label += "\n" + textwrap.fill(
            "no defined ratio: " + ", ".join(m.replace("_", " ") for m in missing), 70)
    ax.set_xlabel(label)
    ax.set_title(f"Ratio to {reference}")
    fig.suptitle("Disparity: each rate by group, and its ratio to the reference group")
    ax.legend(loc="best", fontsize=9)
    return fig


def _schedule_label(changes: list[tuple[str, float, float]], in_force: list[str]) -> str:
    """An entry in a few words: the last two parts of each path it changes, or what comes
    into force."""
    said = [f"{'.'.join(path.split('.')[-2:])} {old:g} to {new:g}" for path, old, new in changes]
    said += [f"{section.rsplit('.', 1)[-1].replace('_', ' ')} in force" for section in in_force]
    text = "; ".join(said)
    return text if len(text) <= 70 else text[:67] + "..."


def schedule_timeline(run: StoredRun) -> Figure | None:
    """The schedule as a timeline: one row per entry in date order, a diamond on the date it
    sets values, a bar over the span it ramps them, and the burn-in shaded.

    Each row says what the entry changes, from what to what; the timeline table beside it
    gives every entry's full note.
    """
    from scsim.scenario.schedule import entry_changes

    s = run.scenario
    if not s.schedule or s.run.start is None:
        return None
    first = np.datetime64(s.run.start, "D")
    last = first + np.timedelta64(s.run.days - 1, "D")
    entries = sorted(entry_changes(s), key=lambda item: item[0])
    fig, ax = subplots(1, 1, figsize=(10, 1.6 + 0.42 * len(entries)), squeeze=True)
    if s.run.report_from is not None:
        ax.axvspan(first, np.datetime64(s.run.report_from, "D"), color="#888888", alpha=0.12,
                   linewidth=0, label="burn-in (not counted)")
    for row, (_, entry, _) in enumerate(entries):
        st = style(row)
        if entry.date is not None:
            ax.plot([np.datetime64(entry.date, "D")], [row], marker="D", markersize=8,
                    color=st["color"], linestyle="none")
        else:
            begin, end = np.datetime64(entry.from_, "D"), np.datetime64(entry.to, "D")
            ax.barh(row, end - begin, left=begin, height=0.5, color=st["color"], alpha=0.75)
    ax.set_yticks(range(len(entries)),
                  [_schedule_label(changes, entry.in_force) for _, entry, changes in entries],
                  fontsize=8)
    ax.set_ylim(len(entries) - 0.5, -0.5)  # the first entry on top
    ax.set_xlim(first, last)
    ax.set_xlabel("date")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    if s.run.report_from is not None:
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("The schedule: what changes when (a diamond: set on a date; a bar: a ramp)")
    return fig


FIGURES = {
    "schedule_timeline": schedule_timeline,
    "score_bands": score_bands,
    "blacklisted": blacklisted,
    "wrongful_vs_rightful": wrongful_vs_rightful,
    "speech": speech,
    "denied_trips": denied_trips,
    "grade_transitions": grade_transitions,
}
"""Figures drawn from a run; ``disparity`` is drawn from its ledger."""


def caption(name: str, run: StoredRun) -> str:
    """A figure's caption: what it shows, and whether its numbers are levels or differences."""
    first = {**FIGURES, "disparity": disparity}[name].__doc__.strip().split("\n\n")[0]
    what = " ".join(first.split())
    pairing = f"'{run.counterfactual_label}'" if run.paired else ""
    measure = {
        "wrongful_vs_rightful": (
            "Levels in the run; the wrongful part is a paired comparison: citizens blacklisted "
            "who, with the same draws but without false records, would not be." if run.paired
            else "Levels in the run. Holding a false record does not mean being listed because "
            "of it: pair the run (--counterfactual none) to count the wrongly blacklisted."),
        "speech": (f"Levels in the run, except 'lost', a paired difference against {pairing}."
                   if run.paired else "Levels in the run."),
        "schedule_timeline": "The scenario's inputs, not results: the values each entry sets "
                             "(a ramp: the value it reaches).",
        "disparity": ("Rates and ratios from the ledger: levels, paired differences and paired "
                      "comparisons as the group table labels them." if run.paired else
                      "Rates and ratios from the ledger: levels."),
    }.get(name, "Levels in the run" + (f" (not differences against {pairing})." if run.paired
                                       else "."))
    note = groups_note(run) if name in PER_GROUP else ""
    return f"{what} {measure}" + (f" Groups: {note}." if note else "")


PER_GROUP = ("score_bands", "blacklisted", "wrongful_vs_rightful", "denied_trips", "disparity")
"""Figures that draw at most MAX_GROUPS_SHOWN groups."""


NOT_DRAWN = {
    "schedule_timeline": "the scenario has no dated schedule",
    "score_bands": "no score moved from the start score",
    "blacklisted": "nobody was blacklisted",
    "wrongful_vs_rightful": "nobody was blacklisted",
    "speech": "no speech was committed",
    "denied_trips": "no trip was denied",
    "grade_transitions": "the scheme has no grades",
    "disparity": "no second group with citizens, or no quantity with a defined ratio",
}
"""Why a figure is left out when it would be empty or flat."""


def all_figures(run: StoredRun) -> dict[str, Figure]:
    """Every figure that applies to the run, by name; see ``left_out`` for the others."""
    figures = {name: draw(run) for name, draw in FIGURES.items()}
    figures["disparity"] = disparity(run.ledger)
    return {name: fig for name, fig in figures.items() if fig is not None}


def left_out(drawn: dict[str, Figure]) -> dict[str, str]:
    """The figures not in ``drawn``, with why."""
    return {name: why for name, why in NOT_DRAWN.items() if name not in drawn}


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write ``stem.png`` (200 dpi) and ``stem.svg``, each whole or not at all (replacing
    figures of the same name: scsim's own, in a run or sweep folder); return both paths."""
    from scsim.io.run_dir import write_atomically

    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for path in paths:
        write_atomically(path, lambda partial, path=path: fig.savefig(
            partial, format=path.suffix[1:], **({"dpi": 200} if path.suffix == ".png" else {})),
            replace=True)
    return paths


def overlay(runs: list[StoredRun], column: str, *, cumulative: bool, ylabel: str,
            title: str) -> Figure:
    """One line per run: a daily column summed over groups, per 100,000 citizens."""
    fig, ax = subplots(figsize=(8, 4.5))
    dated = all(run.scenario.run.start is not None for run in runs)
    for k, run in enumerate(runs):
        values = run.daily[column].sum(axis=1).astype(float)
        if cumulative:
            values = np.cumsum(values)
        population = run.daily["population"].sum(axis=1)
        x = _days(run) if dated else run.daily["day"][:, 0]
        ax.plot(x, _per_100k(values, population), label=run.name, **style(k))
    ax.set_xlabel("date" if dated else "day of the run")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best")
    return fig


COMPARISONS = {
    "blacklisted": ("blacklisted", False, "blacklisted per 100,000 citizens",
                    "Blacklisted, all groups"),
    "wrongly_blacklisted": ("wrongly_blacklisted", False, "per 100,000 citizens",
                            "Wrongly blacklisted, all groups"),
    "denied_trips": ("denied_trips", True, "trips denied per 100,000 citizens",
                     "Denied trips (cumulative)"),
    "recorded_speech": ("recorded_speech", True, "posts recorded per 100,000 citizens",
                        "Speech recorded by monitors (cumulative)"),
    "offences_committed": ("offences_committed", True, "offences per 100,000 citizens",
                           "Offences committed (cumulative)"),
}
"""Overlaid figures of ``scsim compare``: column, cumulative, y label, title."""


def comparison_figures(runs: list[StoredRun]) -> dict[str, Figure]:
    return {name: overlay(runs, column, cumulative=cumulative, ylabel=ylabel, title=title)
            for name, (column, cumulative, ylabel, title) in COMPARISONS.items()}


def sensitivity_figure(table, about: dict) -> Figure:
    """Sensitivity indices of one output, one bar per parameter with its 95% interval."""
    names = table.column("parameter").to_pylist()
    sobol = "ST" in table.column_names
    keys = (("S1", "S1_conf", "first order"), ("ST", "ST_conf", "total")) if sobol else \
        (("mu_star", "mu_star_conf", "mu* (mean absolute effect)"),)
    fig, ax = subplots(figsize=(8, 1.0 + 0.6 * len(names) * len(keys)))
    height = 0.8 / len(keys)
    for k, (value, conf, label) in enumerate(keys):
        ys = np.arange(len(names)) + k * height
        st = style(k)
        ax.barh(ys, table.column(value).to_pylist(), height=height, color=st["color"],
                hatch=("", "//")[k % 2], edgecolor="black", linewidth=0.5, label=label,
                xerr=table.column(conf).to_pylist(), capsize=3)
    ax.set_yticks(np.arange(len(names)) + height * (len(keys) - 1) / 2,
                  [textwrap.fill(n, 40) for n in names])
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("Sobol index, 95% interval" if sobol else "mu*, 95% interval (output units)")
    ax.set_title(f"Sensitivity of {about['output']} ({about['group']}), {about['design']} "
                 f"design, {about['points']} points x {about['replicates']} replicates")
    ax.legend(loc="best")
    return fig


def _panel_grid(panels: int, row_height: float):
    """A figure of ``panels`` panels, two to a row (one if alone), 10 inches wide."""
    columns = 2 if panels > 1 else 1
    rows = -(-panels // columns)
    return subplots(rows, columns, figsize=(10, row_height * rows), squeeze=False)


def calibration_figure(results: list, targets: list, full_population: int,
                       baseline: list[float | None], title: str) -> Figure | None:
    """Each dated series of a scenario's calibration targets over time: the simulated figure
    to the run's last day (a band over the seeds of ``results`` when there are several; the
    first seed's line), the published points it is compared with (times
    ``natural_persons``: filled where fitted, open where predicted) and the naive forecast
    (x) beside each prediction.  None when no target has a date."""
    from scsim.calibration import trajectory

    def panel_of(t) -> tuple:  # (a year's flows share a panel, leap year or not)
        return (t.metric, tuple(t.columns), t.group, t.part, t.from_ is not None)

    dated = [(k, t) for k, t in enumerate(targets) if t.on is not None]
    if not dated:
        return None
    panels = list(dict.fromkeys(panel_of(t) for _, t in dated))
    fig, axes = _panel_grid(len(panels), 2.9)
    simulated, published, naive = OKABE_ITO[0], "#000000", OKABE_ITO[1]
    last_day = results[0].scenario.run.last_date
    for ax, key in zip(axes.flat, panels, strict=False):
        members = [(k, t) for k, t in dated if panel_of(t) == key]
        first = members[0][1]
        shown: list[float] = []
        if first.from_ is None:  # a running total, a level or a share: one line to the end
            to_the_end = first.model_copy(update={"on": last_day})
            lines = [trajectory(r, to_the_end, full_population) for r in results]
            values = np.vstack([line.values for line in lines])
            if len(results) > 1:
                ax.fill_between(lines[0].dates, values.min(axis=0), values.max(axis=0),
                                color=simulated, alpha=0.3, linewidth=0,
                                label=f"simulated, {len(results)} seeds (range)")
            ax.plot(lines[0].dates, values[0], color=simulated, linewidth=1.2,
                    label="simulated")
            shown += [float(np.nanmax(values)), 0.0]
        else:  # windows (a year's flow): one point each, with the seeds' range
            for _, t in members:
                ends = [trajectory(r, t, full_population).values[-1] for r in results]
                ax.errorbar([t.on], [ends[0]], yerr=[[ends[0] - min(ends)], [max(ends) - ends[0]]],
                            fmt="s", color=simulated, markersize=5, capsize=3,
                            label="simulated" + (f", {len(results)} seeds (range)"
                                                 if len(results) > 1 else ""))
                shown += ends
        off_scale = []
        for _, t in members:
            expected = t.published * t.natural_persons
            shown.append(expected)
            ax.plot([t.on], [expected], "o", markersize=6, color=published,
                    markerfacecolor=published if t.role == "fitted" else "white",
                    label="published, fitted" if t.role == "fitted" else "published, predicted")
        top = max(shown)
        for k, t in members:
            if baseline[k] is None:
                continue
            forecast = baseline[k] * t.natural_persons
            if forecast > 3 * top:  # (a forecast 46 times the figure would flatten the rest)
                off_scale.append(f"{t.on}: {forecast:,.0f}")
                continue
            ax.plot([t.on], [forecast], "x", color=naive, markersize=7, label="naive forecast")
        if off_scale:
            ax.text(0.99, 0.02, textwrap.fill("naive forecast off the scale: "
                                              + "; ".join(off_scale), 50),
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color=naive)
        _finish_target_panel(ax, (first.metric, tuple(first.columns), first.group,
                                  first.part, first.from_ is not None))
    return _finish_target_figure(fig, axes, len(panels), title)


def _finish_target_panel(ax, key: tuple) -> None:
    """A panel of targets' series: its title (metric, columns, group, part, windows), its
    axis in counts or millions, its legend without repeats."""
    metric, cols, group, part, windows = key
    label = metric + (f" of {' + '.join(cols)}" if cols else "")
    extra = ", ".join(x for x in (group, part and f"part {part}",
                                  windows and "each a year's flow") if x)
    ax.set_title(textwrap.fill(label + (f" ({extra})" if extra else ""), 60), fontsize=9)
    if metric != "share_on":
        ax.yaxis.set_major_formatter(FuncFormatter(
            lambda v, _: f"{v / 1e6:g} M" if abs(v) >= 1e6 else f"{v:,.0f}"))
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="best")
    ax.tick_params(labelsize=8)


def _finish_target_figure(fig: Figure, axes, used: int, title: str) -> Figure:
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    return fig


def _panel_of(target: dict) -> tuple:
    """Targets that share a panel: one metric of the same columns, group and part, counted
    the same way (a year's flows apart from running totals)."""
    return (target["metric"], tuple(target.get("columns") or ()), target.get("group"),
            target.get("part"), target.get("from") is not None)


def predictive_figure(targets: list[dict], prediction: list[dict], title: str
                      ) -> Figure | None:
    """A fit's posterior predictive over dates: per dated series of targets, the 90% and
    50% bands and the median of the simulated figures, joined across the series' dates, and
    the published points (times ``natural_persons``: filled where fitted, open where held
    out).  None when no target has a date."""
    import datetime as dt

    rows = {r["target"]: r for r in prediction}
    dated = [(k, t) for k, t in enumerate(targets) if t.get("on") is not None and k in rows]
    if not dated:
        return None
    panels = list(dict.fromkeys(_panel_of(t) for _, t in dated))
    fig, axes = _panel_grid(len(panels), 2.9)
    band, published = OKABE_ITO[0], "#000000"
    for ax, key in zip(axes.flat, panels, strict=False):
        members = sorted(((dt.date.fromisoformat(str(t["on"])), k, t) for k, t in dated
                          if _panel_of(t) == key), key=lambda m: m[0])
        dates = [d for d, _, _ in members]
        q = {name: np.array([rows[k][name] for _, k, _ in members], dtype=float)
             for name in ("q05", "q25", "median", "q75", "q95")}
        if len(members) > 1:
            ax.fill_between(dates, q["q05"], q["q95"], color=band, alpha=0.18, linewidth=0,
                            label="90% predictive interval")
            ax.fill_between(dates, q["q25"], q["q75"], color=band, alpha=0.35, linewidth=0,
                            hatch="//", label="50% predictive interval")
            ax.plot(dates, q["median"], color=band, linewidth=1.2, linestyle="--",
                    label="predictive median")
        else:
            ax.errorbar(dates, q["median"], yerr=[q["median"] - q["q05"], q["q95"] - q["median"]],
                        fmt="s", color=band, markersize=5, capsize=3,
                        label="predictive median, 90% interval")
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        for d, _, t in members:
            fitted = t.get("role", "fitted") == "fitted"
            ax.plot([d], [t["published"] * (t.get("natural_persons") or 1.0)], "o",
                    markersize=6, color=published,
                    markerfacecolor=published if fitted else "white",
                    label="published, fitted" if fitted else "published, held out")
        _finish_target_panel(ax, key)
    return _finish_target_figure(fig, axes, len(panels), title)


def posterior_figure(values: dict[str, np.ndarray], weights: np.ndarray, priors: list[dict],
                     quantiles: dict[str, tuple[float, float, float]], title: str) -> Figure:
    """Each fitted value's posterior (weighted histogram of the last generation's
    particles) over its prior's whole range (log-scaled for a log-uniform prior), with the
    median and the 90% interval (``quantiles``: 5%, 50%, 95% per path) marked."""
    fig, axes = _panel_grid(len(priors), 2.4)
    for ax, prior in zip(axes.flat, priors, strict=False):
        x = np.asarray(values[prior["path"]], dtype=float)
        log = prior["shape"] == "log-uniform"
        edges = (np.geomspace(prior["low"], prior["high"], 31) if log
                 else np.linspace(prior["low"], prior["high"], 31))
        ax.hist(x, bins=edges, weights=weights, color=OKABE_ITO[0], alpha=0.6,
                label="posterior (weighted particles)")
        q05, q50, q95 = quantiles[prior["path"]]
        ax.axvline(q50, color="#000000", linewidth=1.2, label=f"median {q50:.3g}")
        ax.axvspan(q05, q95, color=OKABE_ITO[1], alpha=0.12, hatch="\\\\",
                   label=f"90% interval {q05:.3g} to {q95:.3g}")
        if log:
            from matplotlib.ticker import NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(prior["low"], prior["high"])
        ax.set_title(textwrap.fill(f"{prior['path']} (prior {prior['shape']}, the axis's "
                                   "range)", 60), fontsize=9)
        ax.set_yticks([])
        ax.legend(fontsize=7, loc="best")
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(priors):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    return fig
