"""One self-contained HTML page per run (and per comparison), built from stored results only.

The page opens offline: styles are inline, figures are embedded PNG data, and
there is no script and no external address.  Numbers shown in the headline
carry ``data-quantity`` attributes so that tests (and readers' own tools) can
check them against ``ledger.json``.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from collections.abc import Iterable

from matplotlib.figure import Figure

from scsim import numbers
from scsim.describe import description_html
from scsim.io.stored_run import StoredRun
from scsim.ledger import impossible_quantities, quantities_in
from scsim.quantities import EXIT_CAUSES

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 2rem auto;
       max-width: 70rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8rem 0; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e3e3e3; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.side { display: flex; gap: 2rem; flex-wrap: wrap; }
.side > div { flex: 1 1 32rem; }
.side table { width: 100%; }
.benefit h3 { color: #006b4f; } .harm h3 { color: #a13c00; }
.note { color: #555; font-size: 0.92rem; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.82rem; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.92rem; }
.flag { color: #a13c00; }
.measure { color: #555; font-size: 0.85rem; white-space: nowrap; }
.wide { overflow-x: auto; }
table.behaviours td, table.behaviours th { text-align: left; vertical-align: top;
  font-size: 0.9rem; overflow-wrap: break-word; }
table.behaviours caption { text-align: left; font-weight: bold; padding: 0.3rem 0; }
ul.facts li { margin: 0.2rem 0; }
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def figure_html(name: str, fig: Figure, caption: str) -> str:
    """A figure as an embedded PNG with its caption."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure id="figure-{_esc(name)}"><img alt="{_esc(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_esc(caption)}</figcaption></figure>')


def _number(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}"


ABSENT = {"value": None, "rate_per_100k": None, "ci95_per_100k": None,
          "status": "not recorded: the ledger was written by an older scsim"}


def _fmt(x: float) -> str:
    """Readable without exponents: thousands separators, 3 significant digits below 100."""
    return numbers.rate(x)


def _rate(entry: dict) -> str:
    if entry["rate_per_100k"] is None:
        return f'<span class="note">{_esc(entry["status"].split(":")[0])}</span>'
    ci = entry["ci95_per_100k"]
    interval = f" [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""
    flag = ' <span class="flag" title="small group">*</span>' if entry["status"] != "ok" else ""
    return f"{_fmt(entry['rate_per_100k'])}{interval}{flag}"


def _measure(ledger: dict, quantity: str) -> str:
    return ledger["quantities"].get(quantity, {}).get("measure", "level")


def _scale_factor(simulated: int | None, declared: int | None) -> float | None:
    """What a sample's totals are multiplied by to stand for the scenario's population (None
    when the run is the whole population)."""
    return declared / simulated if simulated and declared and declared > simulated else None


def headline_html(ledger: dict, simulated: int | None = None, declared: int | None = None,
                  scenario=None, absent: dict[str, str] | None = None) -> str:
    """Benefit and harm side by side: totals and rates per 100,000 over all citizens, each
    labelled a level or a paired difference; with a sample of a larger scenario, also the
    totals scaled to the scenario's population.  ``absent``: quantities the run cannot
    produce (``ledger.impossible_quantities``), left out and named below, never a 0."""
    overall = ledger["overall"]
    factor = _scale_factor(simulated, declared)
    absent = absent or {}

    def rows(side: str) -> str:
        out = []
        for q in quantities_in(ledger):
            if q.side != side or q.name == "counterfactual_sanctioned" or q.name in absent:
                continue
            entry = overall.get(q.name, ABSENT)
            total = (f'<span class="total">{_number(entry["value"])}</span>'
                     if entry["value"] is not None else
                     '<span class="total note">not measured</span>')
            scaled = ""
            if factor is not None:
                scaled = ("<td class='scaled'>" + (numbers.count(entry["value"] * factor)
                                                   if entry["value"] is not None else "")
                          + "</td>")
            rests = _rests_on_html(scenario, q.name) if scenario is not None else ""
            out.append(
                f'<tr data-quantity="{q.name}"><td title="{_esc(q.description)}">'
                f'{_esc(q.name.replace("_", " "))} <span class="note">({_esc(q.unit)})</span>'
                f'<br><span class="measure">{_esc(_measure(ledger, q.name))}</span>{rests}'
                f"</td><td>{total}</td>{scaled}<td>{_rate(entry)}</td></tr>"
            )
        return "\n".join(out)

    scaled_head = (f"<th>scaled to {numbers.count(declared)}</th>" if factor is not None
                   else "")
    header = (f"<tr><th></th><th>total</th>{scaled_head}"
              "<th>per 100,000 [95% interval]</th></tr>")
    if ledger["paired"]:
        note = ("Paired with the counterfactual <b>" + _esc(ledger["counterfactual"])
                + "</b>. Each figure is a <i>level</i> (the run's own count), a <i>paired "
                "difference</i> (per citizen, against the counterfactual, with the same random "
                "draws: exact, not a difference of noisy totals) or a <i>paired comparison</i> "
                "(against the same citizen without false records).")
    else:
        note = ("Unpaired run: every figure is a <i>level</i> (the run's own count); "
                "quantities that need a counterfactual are not measured "
                "(run with --counterfactual none).")
    if factor is not None:
        note += (f" This run simulated {numbers.count(simulated)} of the scenario's "
                 f"{numbers.count(declared)} citizens; the scaled column multiplies its totals "
                 f"by {numbers.rate(factor)}, assuming the sample is representative.")
    if absent:
        reasons: dict[str, list[str]] = {}
        for name, why in absent.items():
            reasons.setdefault(why, []).append(name.replace("_", " "))
        note += (" Not shown, because this run cannot produce them: " + "; ".join(
            f"{_esc(', '.join(names))} ({_esc(why)})" for why, names in reasons.items()) + ".")
    return f"""{weighing_html(ledger, absent)}<div class="side" id="headline">
<div class="benefit"><h3>Claimed benefit</h3><table>{header}{rows("benefit")}</table></div>
<div class="harm"><h3>Harm</h3><table>{header}{rows("harm")}</table></div>
</div><p class="note">{note} Hover a quantity for its definition.</p>"""


def stock_and_flows_html(ledger: dict, simulated: int | None = None,
                         declared: int | None = None) -> str:
    """The list's stock at the start and the end of the reported days, the listings and the
    exits by cause between them, and the running totals since the run began; with a sample
    of a larger scenario, also scaled to its population.  Empty when nobody was ever listed."""
    flows = ledger.get("stock_and_flows")
    if not flows or not (flows["listed_at_start"] or flows["listings"] or flows["exits"]):
        return ""
    factor = _scale_factor(simulated, declared)

    def row(label: str, value: int, sign: str = "") -> str:
        scaled = f"<td class='scaled'>{numbers.count(value * factor)}</td>" if factor else ""
        return (f"<tr><td>{label}</td><td class='total'>{sign}{numbers.count(value)}</td>"
                f"{scaled}</tr>")

    start = "the first reported day" if "reported_from" in ledger else "the first day"
    rows = [row(f"on the list at the start of {start}", flows["listed_at_start"]),
            row("listed in the reported days", flows["listings"], "+ "),
            *(row(f"&nbsp;&nbsp;left: {_esc(EXIT_CAUSES.get(cause, cause))}", n, "&minus; ")
              for cause, n in flows["exits_by_cause"].items() if n),
            row("on the list at the end of the last day", flows["listed_at_end"])]
    since = "".join(row(_esc(name.replace("_", " ")), n)
                    for name, n in flows["since_the_run_began"].items())
    scaled_head = f"<th>scaled to {numbers.count(declared)}</th>" if factor else ""
    burn_in = (f" They include the burn-in, the days before {_esc(ledger['reported_from'])} "
               "that the rest of this report leaves out." if "reported_from" in ledger else "")
    return (f"<table id='stock-and-flows'><tr><th>the list</th><th>citizens</th>"
            f"{scaled_head}</tr>{''.join(rows)}</table>"
            "<p class='note'>Levels, of the run itself. The stock at the start plus the "
            "listings less the exits is the stock at the end, exactly (a citizen listed "
            "twice counts twice among the listings, as the SPC counts person-times; the "
            "model has no legal persons).</p>"
            f"<h3>Since the run began</h3><table id='since-the-run-began'><tr><th></th>"
            f"<th>total</th>{scaled_head}</tr>{since}</table>"
            f"<p class='note'>Running totals, as the SPC reports them.{burn_in}</p>")


def attribution_html(attribution: dict) -> str:
    """attribution.json as a table: a row per mechanism switched off, a column per benefit
    (what it adds, its interval, and its share of the whole effect against none)."""
    benefits = attribution["benefits"]

    def figure(f: dict) -> str:
        ci = f["ci95"]
        interval = "" if ci is None else (f" <span class='note'>[{_number(round(ci[0]))}, "
                                          f"{_number(round(ci[1]))}]</span>")
        return f"{_number(f['value'])}{interval}"

    head = "".join(f"<th>{_esc(b.replace('_', ' '))}<br>{figure(attribution['total'][b])} "
                   "against none</th>" for b in benefits)
    rows = []
    for name, part in attribution["mechanisms"].items():
        if part["skipped"]:
            cells = f"<td colspan='{len(benefits)}' class='note'>{_esc(part['skipped'])}</td>"
        else:
            cells = "".join(
                f"<td>{figure(part['adds'][b])}<br><span class='measure'>"
                + ("share n/a" if part["share"][b] is None
                   else f"{part['share'][b]:.0%} of it" + (
                       "" if part["known"][b] else ", but its interval holds 0"))
                + "</span></td>" for b in benefits)
        rows.append(f"<tr data-mechanism='{_esc(name)}'><td>without {_esc(part['title'])}</td>"
                    f"{cells}</tr>")
    return (f"<table id='attribution-table'><tr><th>switched off</th>{head}</tr>"
            + "".join(rows) + "</table><p class='note'>Each row pairs the scenario with itself "
            "less one mechanism: what the mechanism adds given all the others, per citizen "
            "under common random numbers (a paired difference), with its 95% interval, and "
            "its share of the whole effect against none. Shares need not add up to 1: "
            "sanctions that act through one response to their summed cost interact.</p>")


def weighing_html(ledger: dict, absent: dict[str, str] | None = None) -> str:
    """Each benefit beside the harms it costs: a column per benefit (what it is counted
    against, its total), a row per harm (its total and its amount per unit of the benefit);
    a harm the run cannot produce (``absent``) is left out."""
    w = ledger.get("weighing")
    if not w or not w["benefits"]:
        return ('<p class="note" id="weighing">No benefit is measured in this run (an unpaired '
                "run measures none of the deterred offences: run with --counterfactual "
                "none), so nothing is weighed.</p>")
    benefits = w["benefits"]
    head = "".join(
        f'<th data-benefit="{_esc(b)}">per unit of {_esc(b.replace("_", " "))}<br>'
        f'<span class="total">{_number(v["value"])}</span>'
        + (f' <span class="note">(95%: {_fmt(v["ci95"][0])} to {_fmt(v["ci95"][1])})</span>'
           if v.get("ci95") else "")
        + f' <span class="note">'
        f'({_esc(v["unit"])}, {_esc(v["measure"])}; against {_esc(v["against"])})</span>'
        + (f'<br><span class="flag">{_esc(v["status"])}</span>' if v["status"] != "ok" else "")
        + "</th>"
        for b, v in benefits.items())
    rows = []
    for name, h in w["harms"].items():
        if name in (absent or {}):
            continue
        cells = "".join(
            f"<td>{_fmt(h['per_unit_of'][b])}{_interval(h, b)}</td>"
            if h["per_unit_of"][b] is not None else
            ('<td class="note" title="a change and a level: not divided">not comparable</td>'
             if b in h.get("not_comparable", ()) else "<td>n/a</td>")
            for b in benefits)
        rows.append(f'<tr data-harm="{_esc(name)}"><td>{_esc(name.replace("_", " "))} '
                    f'<span class="note">({_esc(h["unit"])})</span></td>'
                    f"<td>{_number(h['value'])}</td>{cells}</tr>")
    return (f'<h3 id="weighing-title">Each benefit against what it costs</h3>'
            f'<div class="wide"><table id="weighing"><tr><th>harm</th><th>total</th>{head}'
            f'</tr>{"".join(rows)}</table></div><p class="note">{_esc(w["note"])}: read a '
            "row as the harm that comes with one unit of each benefit.</p>")


def _interval(harm: dict, benefit: str) -> str:
    """' (lo to hi)' of a weighing ratio, where it has an interval."""
    ci = harm.get("per_unit_of_ci95", {}).get(benefit)
    return ("" if ci is None else
            f' <span class="note">({_fmt(ci[0])} to {_fmt(ci[1])})</span>')


def _rests_on_html(scenario, quantity: str) -> str:
    """'rests on 3 sourced values and 2 ASSUMPTIONs', naming the assumptions on hover."""
    from scsim.provenance import rests_on

    if not scenario.sources:
        return '<br><span class="measure rests">rests on unsourced, illustrative values</span>'
    r = rests_on(scenario, quantity)
    names = "; ".join(f"{p} = ASSUMPTION in [{s.low:g}, {s.high:g}]" for p, s in r.assumptions)
    return (f'<br><span class="measure rests" title="{_esc(names)}">rests on '
            f"{_esc(r.sentence())}</span>")


def sources_html(scenario) -> str:
    """Every value the scenario says the source of, assumptions with their ranges."""
    if not scenario.sources:
        return ("<p class='note'>This scenario has no <code>[sources]</code> table: its values "
                "are illustrative, and no figure here rests on a published one.</p>")
    rows = "".join(
        f"<tr><td>{_esc(path)}</td><td>{_esc(s.ref or '')}</td>"
        f"<td>{'ASSUMPTION' if s.assumption else 'sourced'}</td>"
        f"<td>{'' if s.low is None else f'{s.low:g} to {s.high:g}'}</td>"
        f"<td style='text-align:left'>{_esc(s.note)}</td></tr>"
        for path, s in sorted(scenario.sources.items(), key=lambda e: (not e[1].assumption,
                                                                      e[0])))
    return ("<p>Where the scenario's values come from (its <code>[sources]</code> table; "
            "sections of docs/sources.md). <code>scsim screen</code> measures which "
            "assumptions move each headline figure.</p><div class='wide'><table "
            "id='sources-table'><tr><th>value</th><th>source</th><th>status</th>"
            "<th>plausible range</th><th>note</th></tr>" + rows + "</table></div>")


MAX_GROUP_COLUMNS = 6
"""With more groups than this, the group table has a row per group instead of a column."""


AXES = {"groups": ("by_group", "disparity", "reference_group", "group-table"),
        "incomes": ("by_income", "disparity_by_income", "reference_income_level",
                    "income-table"),
        "regions": ("by_region", "disparity_by_region", "reference_region", "region-table"),
        "ages": ("by_age", "disparity_by_age", "reference_age_band", "age-table")}
"""The ledger's axes the report tabulates: its keys for the categories, the ratios, the
reference category, and the table's id."""


def _group_cell(ledger: dict, g: str, quantity: str, axis: str = "groups") -> str:
    by, ratios, reference_key, _ = AXES[axis]
    entry = ledger[by][g]["quantities"].get(quantity, ABSENT)
    disparity = ledger[ratios].get(quantity, {}).get(g, {})
    ratio = disparity.get("ratio")
    shown = _rate(entry)
    if g != ledger[reference_key] and ratio is not None:
        ci = disparity.get("ci95")
        interval = f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else ""
        few = disparity.get("status", "").startswith("too few")
        flag = ' <span class="flag" title="too few events">&dagger;</span>' if few else ""
        shown += (f'<br><span class="note">x{ratio:.3g}{interval} of '
                  f'{_esc(ledger[reference_key])}</span>{flag}')
    return f"<td>{shown}</td>"


def groups_html(ledger: dict, axis: str = "groups") -> str:
    """Rates per group (or income level) with intervals, and each one's ratio to the
    reference (the first)."""
    by, _, _, table_id = AXES[axis]
    groups = list(ledger[by])
    note = ("<p class='note'>* fewer than "
            f"{ledger['small_group_threshold']} citizens: unreliable. &dagger; a ratio resting "
            f"on fewer than {ledger.get('min_events_for_ratio', 10)} events in a group: "
            "unreliable. Ratios carry 95% intervals. n/a: undefined or not measured (see "
            "ledger.json for why); never shown as 0.</p>")
    if len(groups) > MAX_GROUP_COLUMNS:
        head = "".join(f"<th>{_esc(q.name.replace('_', ' '))}<br><span class='measure'>"
                       f"{_esc(_measure(ledger, q.name))}</span></th>"
                       for q in quantities_in(ledger))
        body = "\n".join(
            f"<tr data-group='{_esc(g)}'><td>{_esc(g)}<br><span class='note'>"
            f"{ledger[by][g]['citizens']:,} citizens</span></td>"
            + "".join(_group_cell(ledger, g, q.name, axis) for q in quantities_in(ledger))
            + "</tr>"
            for g in groups)
        return (f"<div class='wide'><table id='{table_id}'><tr><th>per 100,000 [95% "
                f"interval]</th>{head}</tr>{body}</table></div>{note}")
    head = "".join(f"<th>{_esc(g)}<br><span class='note'>"
                   f"{ledger[by][g]['citizens']:,} citizens</span></th>" for g in groups)
    body = [f'<tr data-quantity="{q.name}"><td>{_esc(q.name.replace("_", " "))}<br>'
            f'<span class="measure">{_esc(_measure(ledger, q.name))}</span></td>'
            + "".join(_group_cell(ledger, g, q.name, axis) for g in groups) + "</tr>"
            for q in quantities_in(ledger)]
    return (f"<div class='wide'><table id='{table_id}'><tr><th>per 100,000 [95% interval]"
            f"</th>{head}</tr>" + "\n".join(body) + f"</table></div>{note}")


AXIS_LABELS = {"groups": "group", "incomes": "income level", "regions": "region",
               "ages": "age band"}
TOP_DISPARITIES = 12


def largest_disparities(ledger: dict, limit: int = TOP_DISPARITIES) -> list[dict]:
    """The ratios on every axis whose 95% interval stays furthest from 1 (the log distance of
    its nearer end: a wide interval from few events ranks low, one that holds 1 not at all),
    largest first; only ratios resting on enough events and citizens (status ok)."""
    found = []
    for axis, (by, ratios, reference_key, _) in AXES.items():
        if by not in ledger:
            continue
        for quantity, per in ledger[ratios].items():
            for category, r in per.items():
                ci = r.get("ci95")
                if (category == ledger[reference_key] or r.get("status") != "ok"
                        or not ci or ci[0] <= 0):
                    continue
                distance = max(math.log(ci[0]), -math.log(ci[1]), 0.0)
                if distance > 0:
                    found.append({"axis": axis, "quantity": quantity, "category": category,
                                  "reference": ledger[reference_key], "ratio": r["ratio"],
                                  "ci95": ci, "distance": distance})
    found.sort(key=lambda d: (-d["distance"], d["axis"], d["quantity"], d["category"]))
    return found[:limit]


def disparities_html(ledger: dict) -> str:
    """The largest disparities on any axis first, so the reader meets them before the
    tables."""
    rows = largest_disparities(ledger)
    if not rows:
        return ("<p class='note'>No disparity ratio rests on enough events (at least "
                f"{ledger.get('min_events_for_ratio', 10)} in each category) with a 95% "
                "interval that excludes 1.</p>")
    body = "\n".join(
        f"<tr data-axis='{d['axis']}'><td>{_esc(d['quantity'].replace('_', ' '))}</td>"
        f"<td>{_esc(AXIS_LABELS[d['axis']])}</td><td>{_esc(d['category'])}</td>"
        f"<td>x{d['ratio']:.3g}"
        + (f" [{d['ci95'][0]:.3g}, {d['ci95'][1]:.3g}]" if d["ci95"] else "")
        + f"</td><td>{_esc(d['reference'])}</td></tr>"
        for d in rows)
    return ("<div class='wide'><table id='disparity-table'><tr><th>quantity</th><th>axis</th>"
            "<th>category</th><th>rate ratio [95% interval]</th><th>of the reference</th></tr>"
            f"{body}</table></div><p class='note'>Rate ratios of each category to the first of "
            "its axis, ranked by how far their 95% interval stays from 1 (its nearer end, on "
            "the log scale: a ratio below 1 as far as its inverse above), so that a wide "
            "interval from few events ranks low; ratios whose interval holds 1 are left out, "
            "as are those with fewer than "
            f"{ledger.get('min_events_for_ratio', 10)} events on a side or "
            f"{ledger['small_group_threshold']} citizens. The tables below have all.</p>")


def false_positives_html(ledger: dict) -> str:
    """False records per scored citizen-year, by group."""
    fpr = ledger.get("false_positive_rate")
    if not fpr or not any(g["false_records"] for g in fpr["groups"].values()):
        return ""
    rows = "".join(
        f"<tr><td>{_esc(name)}</td><td>{g['false_records']:,}</td>"
        f"<td>{g['citizen_years']:,.0f}</td><td>"
        + ("n/a" if g["rate"] is None else f"{g['rate']:.3g}"
           + (f" [{g['ci95'][0]:.3g}, {g['ci95'][1]:.3g}]" if g["ci95"] else ""))
        + ("" if g["status"] == "ok" else
           ' <span class="flag" title="too few events">&dagger;</span>')
        + "</td></tr>"
        for name, g in fpr["groups"].items())
    return ("<h3>False-positive rate</h3><table id='false-positive-table'><tr><th>group</th>"
            "<th>false records</th><th>scored citizen-years</th><th>per citizen-year [95% "
            f"interval]</th></tr>{rows}</table><p class='note'>{_esc(fpr['note'])}.</p>")


def schemes_html(ledger: dict) -> str:
    """Each scheme's citizens (the national one's and each pilot's): scale, final scores,
    grades at the end, and the rate of every quantity."""
    schemes = ledger["by_scheme"]
    head = "".join(f"<th>{_esc(name)}<br><span class='note'>{x['citizens']:,} citizens"
                   + (f", {x['share_of_region']:.2%} of {_esc(x['region'])}" if "region" in x
                      else "") + "</span></th>" for name, x in schemes.items())

    def row(label: str, cells: Iterable[str]) -> str:
        return f"<tr><td>{label}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    rows = [
        row("score scale", (f"{x['scale'][0]:,} to {x['scale'][1]:,}"
                            for x in schemes.values())),
        row("mean final score", (_number(x["mean_final_score"]) for x in schemes.values())),
        row("grades at the end", (", ".join(f"{_esc(g)} {n:,}"
                                            for g, n in x["grades_at_end"].items()) or "none"
                                  for x in schemes.values())),
        *(row(f"{_esc(q.name.replace('_', ' '))}<br><span class='measure'>"
              f"{_esc(_measure(ledger, q.name))}</span>",
              (_rate(x["quantities"].get(q.name, ABSENT)) for x in schemes.values()))
          for q in quantities_in(ledger)),
    ]
    return (f"<div class='wide'><table id='scheme-table'><tr><th>per 100,000 [95% "
            f"interval]</th>{head}</tr>" + "\n".join(rows) + "</table></div>"
            "<p class='note'>The national scheme is everyone outside the pilots; the court "
            "list and its measures apply in every scheme. The schemes' counts add up to the "
            "totals.</p>")


def stories_html(traces: dict | None, kinds: dict | None = None) -> str:
    """One story of each kind the run has (stories.json), then the sampled ones (traces.json,
    written by ``scsim trace --save``)."""
    parts = []
    if kinds and kinds.get("stories"):
        parts.append("<h3>One citizen of each kind</h3><p class='note'>The citizen of each "
                     "kind with the smallest id (ids are drawn apart from every trait, so "
                     "this is as good as a random pick). "
                     f"{_esc(kinds.get('date_note', ''))}</p>")
        parts.append(_stories(kinds["stories"], captioned=True))
    if traces and traces.get("stories"):
        parts.append("<h3>Sampled citizens</h3><p class='note'>"
                     f"{_esc(traces.get('date_note', ''))}</p>")
        parts.append(_stories(traces["stories"]))
    else:
        parts.append("<p class='note'>No sampled life stories saved with this run; "
                     "<code>scsim trace RUN --sample 3 --save</code> adds some.</p>")
    return "\n".join(parts)


def _stories(stories: list[dict], captioned: bool = False) -> str:
    parts = []
    for story in stories:
        events = "".join(f"<tr><td>{e['day']}</td><td>{_esc(e['date'])}</td>"
                         f"<td style='text-align:left'>{_esc(e['text'])}</td></tr>"
                         for e in story["events"])
        title = (f"{_esc(story['caption'])}: " if captioned else "") + _esc(story["who"])
        parts.append(
            f"<h4>{title}</h4><p>Household: {_esc(story['household'])}</p>"
            + (f"<table><tr><th>day</th><th>date</th><th>what happened</th></tr>{events}"
               "</table>" if events else "<p>Nothing happened to this citizen.</p>")
            + f"<p>{_esc(story['outcome'])}</p>"
        )
    return "\n".join(parts)


def provenance_html(run: StoredRun) -> str:
    s = run.summary
    rows = [
        ("scsim version", s.get("version")),
        ("scenario file", s.get("scenario_file")),
        ("scenario SHA-256", s.get("scenario_sha256")),
        ("seed", s.get("seed")),
        ("citizens x days", f"{s.get('population', 0):,} x {s.get('days')}"),
        ("counterfactual", (s.get("counterfactual") or {}).get("label", "none (unpaired run)")),
        ("started at", s.get("started_at")),
        ("wall time", f"{s.get('wall_time_s', 0):.2f} s"),
        ("peak memory", f"{s.get('peak_memory_bytes', 0) / 2**20:,.0f} MiB"),
        ("threads", s.get("threads")),
        ("platform", (s.get("provenance") or {}).get("platform")),
        ("python / numpy / numba", " / ".join(str((s.get("provenance") or {}).get(k))
                                               for k in ("python", "numpy", "numba"))),
    ]
    from scsim.io.run_dir import EFFECTIVE_SCENARIO, reproduce_command

    if (run.path / EFFECTIVE_SCENARIO).is_file():
        how = (f"<p>To reproduce, from the effective scenario stored in the run folder (every "
               f"--set, --add and sweep value applied): <code>"
               f"{_esc(reproduce_command(s, run.path))}</code>. Its daily tables, histogram, "
               "grade transitions and ledger figures are bit-identical to this run's, for any "
               "thread count.</p>")
    else:
        how = (f"<p>This run folder was written before scsim stored its effective scenario "
               f"({EFFECTIVE_SCENARIO}); the scenario it ran is in summary.json.</p>")
    return ("<table id='provenance-table'>" + "".join(
        f"<tr><td>{_esc(k)}</td><td style='text-align:left'>{_esc(v)}</td></tr>"
        for k, v in rows) + "</table>" + how)


def timeline_html(s) -> str:
    """The schedule as a table in date order: when, what changes (from what to what), the
    entry's note; and the end of a burn-in."""
    from scsim.scenario.schedule import entry_changes

    if not s.schedule and s.run.report_from is None:
        return ""
    rows = []
    for _, entry, changes in entry_changes(s):
        what = [f"{_esc(path)}: {old:g} &rarr; {new:g}" for path, old, new in changes]
        what += [f"{_esc(section)} comes into force" for section in entry.in_force]
        when = (str(entry.date) if entry.date is not None
                else f"{entry.from_} to {entry.to} (steps of {entry.step_days} days)")
        rows.append(f"<tr><td>{_esc(when)}</td><td style='text-align:left'>"
                    + "<br>".join(what)
                    + f"</td><td style='text-align:left'>{_esc(entry.note)}</td></tr>")
    if s.run.report_from is not None:
        rows.append(f"<tr><td>{_esc(s.run.report_from)}</td><td style='text-align:left'>the "
                    "burn-in ends: tables and ledger count from here</td><td></td></tr>")
    return ("<table><tr><th>when</th><th>what changes</th><th>note</th></tr>"
            + "".join(rows) + "</table><p class='note'>Figures mark each dated change with a "
            "dotted line and shade each ramp; the figure \"the schedule\" draws every entry "
            "on one timeline.</p>")


def page(title: str, sections: Iterable[tuple[str, str, str]]) -> str:
    """A whole page from (heading, anchor, HTML content) sections."""
    body = "\n".join(f'<h2 id="{_esc(anchor)}">{_esc(heading)}</h2>\n{content}'
                     for heading, anchor, content in sections)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title><style>{STYLE}</style></head>
<body><h1>{_esc(title)}</h1>
<p class="note">Synthetic citizens only: scsim models a social-credit system as statistics and
never concerns a real person. Generated {generated} by scsim from stored results.</p>
{body}
</body></html>
"""


def posterior_draw_html(drawn: dict | None) -> str:
    """Where a run's fitted values came from, if from a fit's posterior."""
    if not drawn:
        return ""
    values = ", ".join(f"{_esc(path)} = {numbers.rate(v)}" for path, v in drawn["values"].items())
    return (f"<p class='note' id='posterior-draw'>The fitted values are one draw from the "
            f"posterior of the fit <code>{_esc(drawn['fit'])}</code> (particle "
            f"{drawn['particle']} of generation {drawn['generation'] + 1}): {values}. Every "
            "interval in this report is seed noise under this one draw; the parameters' "
            "uncertainty is not in it (<code>scsim ensemble --posterior</code> gives intervals "
            "with both).</p>")


def run_report(run: StoredRun) -> str:
    """The HTML report of one run."""
    from scsim.plots import all_figures, caption, left_out

    figures = all_figures(run)
    figures_html = "\n".join(figure_html(name, fig, caption(name, run))
                             for name, fig in figures.items())
    missing = left_out(figures)
    if missing:
        figures_html += ("<p class='note'>Left out, because they would be empty or flat: "
                         + "; ".join(f"{_esc(name.replace('_', ' '))} ({_esc(why)})"
                                     for name, why in missing.items()) + ".</p>")
    s = run.scenario
    cf = (f"<p>Compared with: <b>{_esc(run.counterfactual_label)}</b>"
          f" ({_esc(run.counterfactual.name)}).</p>" if run.paired else "")
    return page(
        f"scsim report: {run.name} ({s.name})",
        [
            ("What was simulated", "scenario",
             description_html(s) + cf + posterior_draw_html(run.summary.get("posterior"))),
            *((("Timeline", "timeline", timeline),) if (timeline := timeline_html(s)) else ()),
            ("Headline: benefit and harm", "ledger",
             headline_html(run.ledger, s.population.size, run.declared_population, s,
                           impossible_quantities(s, run.counterfactual if run.paired else None))
             + ("" if run.attribution or not run.paired else
                "<p class='note' id='no-attribution'>Where each benefit comes from is not "
                "in this run: <code>scsim run --attribute</code> (or <code>scsim attribute "
                "SCENARIO</code>) measures what each mechanism adds to it.</p>")),
            *((("Where each benefit comes from", "attribution",
                attribution_html(run.attribution)),) if run.attribution else ()),
            *((("The list: stock and flows", "stock", stock),)
              if (stock := stock_and_flows_html(run.ledger, s.population.size,
                                                run.declared_population)) else ()),
            ("Figures", "figures", figures_html),
            *((("Largest disparities", "disparities", disparities_html(run.ledger)),)
              if "by_region" in run.ledger else ()),
            ("By group", "groups", groups_html(run.ledger) + false_positives_html(run.ledger)),
            *((("By income level", "incomes", groups_html(run.ledger, "incomes")),)
              if "by_income" in run.ledger else ()),
            *((("By region", "regions", groups_html(run.ledger, "regions")),
               ("By age band on day 0", "ages", groups_html(run.ledger, "ages")))
              if "by_region" in run.ledger else ()),
            *((("By scheme: the national scheme and its pilots", "schemes",
                schemes_html(run.ledger)),) if "by_scheme" in run.ledger else ()),
            ("Life stories", "stories", stories_html(run.traces, run.stories)),
            ("What the figures rest on", "sources", sources_html(s)),
            ("Provenance", "provenance", provenance_html(run)),
        ],
    )


def comparison_report(comparison) -> str:
    """The HTML page of ``scsim compare``: ledgers side by side, differences, overlaid figures."""
    runs = comparison.runs
    return page("scsim comparison: " + " vs ".join(run.name for run in runs),
                comparison_sections(comparison))


def comparison_sections(comparison, figures: bool = True) -> list[tuple[str, str, str]]:
    """(title, anchor, HTML) of a comparison: the runs, their ledgers side by side with the
    differences and whether the runs share their draws, and (``figures``) overlaid figures."""
    from scsim.compare import pairing_sentence, relative
    from scsim.plots import comparison_figures

    runs = comparison.runs
    head = "".join(f"<th>{_esc(run.name)}</th>" for run in runs) + "".join(
        f"<th>{_esc(run.name)} - {_esc(runs[0].name)}</th>" for run in runs[1:])
    body = []
    for row in comparison.rows:
        totals = "".join(f"<td class='total'>{_number(t)}</td>" for t in row.totals)
        diffs = "".join(
            f"<td class='difference'>"
            f"{_esc(relative(row.difference(k), row.totals[0], row.comparable[k]))}</td>"
            for k in range(1, len(runs)))
        body.append(f"<tr data-quantity='{row.quantity}'><td>{_esc(row.quantity)} "
                    f"<span class='note'>({row.side})</span><br><span class='measure'>"
                    f"{_esc(row.measure)}</span></td>{totals}{diffs}</tr>")
    crn = []
    for run, shared in zip(runs[1:], comparison.common_random_numbers[1:], strict=True):
        crn.append(
            f"<li>{_esc(run.name)}: "
            + ("same population, behaviours, horizon, seed and citizen ids as "
               f"{_esc(runs[0].name)}: common random numbers, so each difference is the exact "
               "sum of per-citizen paired differences." if shared else
               f"a different world or seed from {_esc(runs[0].name)}: differences include "
               "sampling noise.") + "</li>")
    runs_table = "".join(
        f"<tr><td>{_esc(run.name)}</td><td style='text-align:left'>{_esc(run.scenario.name)}"
        f"</td><td>{run.scenario.run.seed}</td><td>{run.scenario.population.size:,}</td>"
        f"<td>{run.scenario.run.days}</td><td style='text-align:left'>"
        f"{_esc(run.counterfactual_label or 'unpaired')}</td></tr>" for run in runs)
    drawn = "\n".join(figure_html(name, fig, fig.axes[0].get_title())
                      for name, fig in comparison_figures(runs).items()) if figures else ""
    return [
        ("Runs", "runs", "<table><tr><th>run</th><th>scenario</th><th>seed</th>"
         f"<th>citizens</th><th>days</th><th>counterfactual</th></tr>{runs_table}</table>"),
        ("Ledgers side by side", "ledger",
         f"<table id='comparison'><tr><th>total</th>{head}</tr>{''.join(body)}</table>"
         "<p class='note'>Each total is what its run's ledger says it is (a level, a "
         "paired difference or a paired comparison); the last columns are differences "
         "between the runs' totals.</p>"
         f"<ul>{''.join(f'<li>{_esc(pairing_sentence(run))}</li>' for run in runs)}"
         f"{''.join(crn)}</ul>"),
        *((("Overlaid figures", "figures", drawn),) if figures else ()),
    ]
