"""HTML pages of many runs: an ensemble's bands, a sweep's spread beside its indices.

Built from the experiment folder only (``ensemble.parquet``, ``results.parquet``,
the replicates' ``daily.parquet``, ``sensitivity-*.parquet``), self-contained
like the run report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from scsim import numbers
from scsim.experiments.sensitivity import CONSTANT_OUTPUT_NOTE
from scsim.ledger import known_quantities
from scsim.report import _esc, figure_html, page

PER = 100_000


def _interval(low, high) -> str:
    return "n/a" if low is None else f"{numbers.rate(low)} to {numbers.rate(high)}"


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _stats_table(rows: list[dict], group: str, posterior: bool = False) -> str:
    if posterior:  # the 90% interval of the figure itself, beside each figure
        body = "".join(
            f"<tr data-quantity='{_esc(r['quantity'])}'><td>"
            f"{_esc(r['quantity'].replace('_', ' '))}<br><span class='measure'>"
            f"{_esc(r['measure'])}</span></td><td class='median'>{numbers.rate(r['median'])}"
            f"</td><td class='p90'>{_interval(r['p05'], r['p95'])}<br><span class='measure'>"
            "posterior and seeds</span></td>"
            f"<td>{_interval(r['t95_low'], r['t95_high'])}</td></tr>"
            for r in rows if r["group"] == group)
        return ("<table><tr><th>quantity</th><th>median of replicates</th><th>90% interval "
                "(5th to 95th percentile of replicates: parameter and seed uncertainty)</th>"
                f"<th>95% interval of the mean</th></tr>{body}</table>")
    body = "".join(
        f"<tr data-quantity='{_esc(r['quantity'])}'><td>{_esc(r['quantity'].replace('_', ' '))}"
        f"<br><span class='measure'>{_esc(r['measure'])}</span></td>"
        f"<td class='mean'>{numbers.rate(r['mean'])}</td>"
        f"<td>{_interval(r['t95_low'], r['t95_high'])}</td>"
        f"<td>{_interval(r['p10'], r['p90'])}</td>"
        f"<td>{_share(r['relative_seed_noise'])}</td></tr>"
        for r in rows if r["group"] == group)
    return ("<table><tr><th>quantity</th><th>mean over replicates</th><th>95% interval of "
            "the mean</th><th>10th to 90th percentile of replicates (spread)</th><th>seed "
            f"noise (sd / mean)</th></tr>{body}</table>")


def _weighing_table(weighing: list[dict]) -> str:
    """Each harm per unit of each benefit across the replicates."""
    shown = [w for w in weighing if w["median"] is not None]
    if not shown:
        return ("<p class='note'>No benefit was known above 0 in any replicate: nothing is "
                "divided.</p>")
    body = "".join(
        f"<tr><td>{_esc(w['harm'].replace('_', ' '))}</td>"
        f"<td>{_esc(w['benefit'].replace('_', ' '))}</td><td>{numbers.rate(w['median'])}</td>"
        f"<td>{_interval(w['p05'], w['p95'])}</td>"
        f"<td>{w['divided_in']} of {w['replicates']}</td></tr>" for w in shown)
    return ("<table id='weighing'><tr><th>harm</th><th>per unit of</th><th>median</th>"
            "<th>5th to 95th percentile of replicates</th><th>replicates divided</th></tr>"
            f"{body}</table><p class='note'>Ratios of each replicate's totals; a replicate "
            "whose benefit was not known above 0 divides nothing.</p>")


def _band(out: Path, replicates: list[int], column: str, title: str) -> Figure:
    """A daily column per 100,000 citizens: the replicates' mean and 10th-90th band."""
    from scsim.plots import style, subplots

    series = []
    for r in replicates:
        table = pq.read_table(out / f"replicate={r}" / "daily.parquet",
                              columns=["day", column, "population"])
        days = np.unique(table.column("day").to_numpy())
        values = table.column(column).to_numpy().reshape(len(days), -1).sum(axis=1)
        population = table.column("population").to_numpy().reshape(len(days), -1).sum(axis=1)
        series.append(values / population * PER)
    stack = np.array(series)
    fig, ax = subplots(figsize=(8, 4.5))
    st = style(0)
    ax.fill_between(days, np.percentile(stack, 10, axis=0), np.percentile(stack, 90, axis=0),
                    color=st["color"], alpha=0.25, linewidth=0,
                    label="10th to 90th percentile of replicates")
    ax.plot(days, stack.mean(axis=0), label=f"mean of {len(replicates)} replicates", **st)
    ax.set_xlabel("day of the run")
    ax.set_ylabel(f"{column.replace('_', ' ')} per 100,000 citizens")
    ax.set_title(title)
    ax.legend(loc="best")
    return fig


def ensemble_report(out: Path) -> str:
    """An ensemble's page."""
    return page(f"scsim ensemble: {out.name}", ensemble_sections(out))


def ensemble_sections(out: Path) -> list[tuple[str, str, str]]:
    """(title, anchor, HTML) of an ensemble: what was run, each quantity across the
    replicates (with --posterior, its 90% interval of parameter and seed uncertainty), the
    weighing, the band over time, each group."""
    manifest = json.loads((out / "ensemble.json").read_text())
    rows = pq.read_table(out / "ensemble.parquet").to_pylist()
    done = manifest["replicates_done"]
    groups = list(dict.fromkeys(r["group"] for r in rows))
    figures = ""
    if done:
        figures = figure_html("blacklisted-band", _band(out, done, "blacklisted",
                                                        "Blacklisted, all groups"),
                              "Blacklisted citizens per 100,000 at the end of each day: the "
                              "mean of the replicates and their 10th-90th percentile band "
                              "(spread, not an interval). Levels in the run.")
    target = manifest.get("until_halfwidth")
    stopping = ""
    if target is not None:
        stopping = (f"<p>Replicates were added until every headline quantity's 95% interval "
                    f"was within ±{target:.1%} of its mean: "
                    + ("reached." if manifest.get("target_met") else
                       "<b>not reached</b> before --max-replicates.") + "</p>")
    posterior = manifest.get("posterior")
    drawn = ""
    if posterior is not None:
        drawn = (f"<p>Each replicate drew its fitted values ({_esc(', '.join(posterior['paths']))}"
                 f") from one particle of generation {posterior['generation'] + 1} of the fit "
                 f"<code>{_esc(posterior['fit'])}</code> (of {_esc(posterior['fit_scenario'])}"
                 "), chosen by weight: every interval below combines the parameters' "
                 "uncertainty with the seeds'. The fitted values rest on the fit; every other "
                 "value is the scenario's.</p>")
    about = (f"<p>{len(done)} replicates of <b>{_esc(manifest['scenario'])}</b> "
             f"({_esc(manifest['scenario_file'])}), root seed {manifest['root_seed']}, seeds "
             f"<code>{_esc(manifest['seed_scheme'])}</code>"
             + (f", each paired with <b>{_esc(manifest['counterfactual']['label'])}</b>"
                if manifest["counterfactual"] else "") + ".</p>" + drawn + stopping)
    drawing = posterior is not None
    sections = [("What was run", "about", about),
                ("All citizens", "all", _stats_table(rows, "all", drawing) +
                 ("<p class='note'>The 90% interval is the 5th to 95th percentile of the "
                  f"{len(done)} replicates' totals, each a posterior draw under its own seed"
                  + (" (under 20 replicates these percentiles lie between the extremes, "
                     "interpolated)" if len(done) < 20 else "")
                  + "; the interval of the mean is Student t.</p>" if drawing else
                  "<p class='note'>The interval is of the mean over replicates (Student t, kept "
                  "at or above 0 for quantities that cannot be negative); the percentiles are "
                  "the replicates' spread.</p>")),
                ("Each benefit against what it costs", "weighing",
                 _weighing_table(manifest.get("weighing") or [])),
                ("Over time", "figures", figures)]
    sections += [(f"Group {g}", f"group-{g}", _stats_table(rows, g, drawing))
                 for g in groups[1:]]
    return sections


def _sensitivity_section(path: Path) -> tuple[str, str, str]:
    """One analysis of the sweep (``scsim analyze``'s files) as a section of its page."""
    import math

    from scsim.io.stored_run import _json, read_parquet
    from scsim.plots import sensitivity_figure

    table = read_parquet(path)
    info = _json(path.with_suffix(".json"))
    for key in ("output_mean", "output_sd"):
        if not isinstance(info[key], int | float) or not math.isfinite(info[key]):
            raise ValueError(f"{key} is not a number")
    head = "".join(f"<th>{_esc(c)}</th>" for c in table.column_names)
    body = "".join("<tr>" + "".join(
        f"<td>{_esc(v) if isinstance(v, str) else f'{v:.3f}'}</td>" for v in row.values())
        + "</tr>" for row in table.to_pylist())
    noise = info.get("seed_noise_share")
    note = (f"<p class='note'>Output mean {numbers.rate(info['output_mean'])}, sd across "
            f"points {numbers.rate(info['output_sd'])}; seed noise "
            + ("n/a (one replicate per point)" if noise is None else f"{noise:.1%}")
            + " of the variance between runs. Intervals 95% (SALib bootstrap)."
            + (f" {_esc(CONSTANT_OUTPUT_NOTE)}" if info.get("constant_output") else "")
            + "</p>")
    fig = figure_html(path.stem, sensitivity_figure(table, info),
                      f"Sensitivity of {info['output']} ({info['group']})")
    return (f"Sensitivity of {info['output']} ({info['group']})", path.stem,
            f"<div class='side'><div><table>{'<tr>' + head + '</tr>'}{body}"
            f"</table>{note}</div><div>{fig}</div></div>")


def _screen_section(out: Path, manifest: dict) -> tuple[str, str, str]:
    """A screening: for each headline quantity, every assumption's mu* as a bar with its 95%
    interval, largest first (the assumptions that move nothing left out, and named)."""
    import pyarrow as pa

    from scsim.io.stored_run import RunFolderError, read_parquet
    from scsim.plots import sensitivity_figure

    try:
        rows = read_parquet(out / "screen.parquet").to_pylist()
    except RunFolderError as exc:
        return ("The screening: not shown", "screen", f"<p class='note'>{_esc(str(exc))}</p>")
    parts = []
    for quantity in dict.fromkeys(r["quantity"] for r in rows):
        mine = [r for r in rows if r["quantity"] == quantity and r["mu_star"] > 0]
        if not mine:
            parts.append(f"<p class='note'>{_esc(quantity)}: no assumption moves it (the same "
                         "in every run).</p>")
            continue
        table = pa.table({"parameter": [r["parameter"] for r in mine],
                          "mu_star": [r["mu_star"] for r in mine],
                          "mu_star_conf": [r["mu_star_conf"] for r in mine],
                          "sigma": [r["sigma"] for r in mine]})
        about = {"output": quantity, "group": "all", "design": "morris",
                 "points": manifest["points"], "replicates": manifest["replicates"]}
        parts.append(figure_html(f"screen-{quantity}", sensitivity_figure(table, about),
                                 f"Morris mu* of {quantity} for each assumption that moves it, "
                                 "with its 95% interval (SALib bootstrap), largest first; "
                                 "screen.parquet gives the numbers."))
    return ("Which assumptions move each headline", "screen", "".join(parts))


def _refit_section(out: Path) -> tuple[str, str, str]:
    """A screening with refits: each assumption's mu* as screened and refitted."""
    from scsim.io.stored_run import RunFolderError, read_parquet

    try:
        rows = read_parquet(out / "screen-refit.parquet").to_pylist()
        refits = read_parquet(out / "refits.parquet").to_pylist()
    except RunFolderError as exc:
        return ("With refits: not shown", "refit", f"<p class='note'>{_esc(str(exc))}</p>")
    body = "".join(
        f"<tr><td>{_esc(r['quantity'].replace('_', ' '))}</td><td><code>"
        f"{_esc(r['parameter'])}</code></td><td>{numbers.rate(r['mu_star'])} ± "
        f"{numbers.rate(r['mu_star_conf'])}</td><td>{numbers.rate(r['mu_star_refitted'])} ± "
        f"{numbers.rate(r['mu_star_conf_refitted'])}</td><td>{_esc(r['verdict'])}</td></tr>"
        for r in rows if max(r["mu_star"], r["mu_star_refitted"]) > 0)
    held = sum(r["held"] for r in refits)
    return ("With refits", "refit",
            f"<p>Every point was refitted (its fitted values chosen again to hold the "
            f"fitted targets at its assumptions) and run again: the refits held at {held} of "
            f"{len(refits)} points (refits.parquet). An effect counts where mu*'s 95% interval "
            "is clear of 0.</p><table><tr><th>quantity</th><th>assumption</th><th>mu* as "
            "screened</th><th>mu* refitted</th><th>effect</th></tr>" + body + "</table>")


def sweep_report(out: Path) -> str:
    """A sweep's (or a screening's) page."""
    return page(f"scsim sweep: {out.name}", sweep_sections(out))


def sweep_sections(out: Path) -> list[tuple[str, str, str]]:
    """The sweep's page, from its checked files: an analysis whose files are damaged is
    said to be so (scsim analyze writes them again), never a traceback."""
    from scsim.experiments.sweep import SweepError, read_manifest
    from scsim.io.stored_run import RunFolderError, read_parquet

    manifest = read_manifest(out / "sweep.json")
    results = read_parquet(out / "results.parquet").to_pylist() if (
        out / "results.parquet").is_file() else []
    if any(not isinstance(r.get("point"), int) for r in results):
        raise SweepError(f"{out / 'results.parquet'}: corrupt: a row without its point")
    vary = "".join(f"<li><code>{_esc(v['path'])}</code>: "
                   + (f"{v['low']:g} to {v['high']:g}" if v["values"] is None else
                      ", ".join(map(str, v["values"]))) + "</li>" for v in manifest["vary"])
    about = (f"<p>A {manifest['design']} design of {manifest['points']} points x "
             f"{manifest['replicates']} replicates of <code>{_esc(manifest['scenario_file'])}"
             f"</code> (root seed {manifest['root_seed']}; the same replicate seeds at every "
             f"point), varying:</p><ul>{vary}</ul>")
    spread_rows = []
    for q in known_quantities().values():
        values = [r[q.name] for r in results if r.get(q.name) is not None]
        if not values:
            continue
        by_point: dict[int, list] = {}
        for r in results:
            if r.get(q.name) is not None:
                by_point.setdefault(r["point"], []).append(r[q.name])
        means = np.array([np.mean(v) for v in by_point.values()])
        spread_rows.append(
            f"<tr data-quantity='{q.name}'><td>{_esc(q.name.replace('_', ' '))}</td>"
            + "".join(f"<td>{numbers.rate(float(x))}</td>" for x in
                      (means.min(), np.percentile(means, 10), np.median(means),
                       np.percentile(means, 90), means.max())) + "</tr>")
    spread = ("<table><tr><th>quantity (mean over replicates, per point)</th><th>min</th>"
              "<th>10th pct</th><th>median</th><th>90th pct</th><th>max</th></tr>"
              + "".join(spread_rows) + "</table>")
    sections = [("What was swept", "about", about), ("Spread of the outputs across points",
                                                    "spread", spread)]
    for path in sorted(out.glob("sensitivity-*.parquet")):
        try:
            sections.append(_sensitivity_section(path))
        except (RunFolderError, KeyError, TypeError, ValueError) as exc:
            sections.append((f"{path.stem}: not shown", path.stem, (
                f"<p class='note'>{_esc(path.name)} or its JSON cannot be read "
                f"({_esc(' '.join(str(exc).split())[:200])}); <code>scsim analyze</code> "
                "writes them again.</p>")))
    if (out / "screen.parquet").is_file():
        sections.append(_screen_section(out, manifest))
    if (out / "screen-refit.parquet").is_file():
        sections.append(_refit_section(out))
    if len(sections) == 2:
        sections.append(("Sensitivity", "sensitivity", "<p class='note'>No indices yet: "
                         "<code>scsim analyze SWEEP --output QUANTITY</code> computes them "
                         "(Sobol or Morris designs).</p>"))
    return sections


# --- a fit: its posterior, its diagnostics, its posterior predictive -----------------

def fit_figures(out: Path) -> dict[str, Figure]:
    """The fit's figures: the posterior's marginals, and (after ``scsim predict``) the
    published points against the posterior predictive bands over dates."""
    from scsim.experiments.fit import (
        FIT_FILE,
        PARTICLES,
        PREDICTION,
        SCENARIO_FILE,
        weighted_quantiles,
    )
    from scsim.plots import posterior_figure, predictive_figure

    manifest = json.loads((out / FIT_FILE).read_text())
    particles = pq.read_table(out / PARTICLES).to_pandas()
    last = particles[particles.generation == particles.generation.max()]
    weights = last.weight.to_numpy(dtype=float)
    priors = manifest["priors"]
    values = {p["path"]: last[p["path"]].to_numpy(dtype=float) for p in priors}
    quantiles = {path: tuple(weighted_quantiles(x, weights, (0.05, 0.5, 0.95)))
                 for path, x in values.items()}
    figures = {"posterior": posterior_figure(
        values, weights, priors, quantiles,
        f"Posterior after generation {int(last.generation.iloc[0]) + 1} "
        f"({len(last)} particles)")}
    if (out / PREDICTION).is_file():
        targets = json.loads((out / SCENARIO_FILE).read_text())["calibration"]["targets"]
        figure = predictive_figure(targets, pq.read_table(out / PREDICTION).to_pylist(),
                                   "Published figures against the posterior predictive")
        if figure is not None:
            figures["posterior_predictive"] = figure
    return figures


def fit_report(out: Path) -> str:
    """A fit's page."""
    return page(f"scsim fit: {out.name}", fit_sections(out))


def fit_sections(out: Path) -> list[tuple[str, str, str]]:
    """The fit's page: what was fitted and how, the generations, the posterior, and (after
    ``scsim predict``) every target against its predictive interval, over dates."""
    from scsim.experiments.fit import (
        FIT_FILE,
        GENERATIONS,
        PARTICLES,
        PREDICTION,
        weighted_quantiles,
    )

    manifest = json.loads((out / FIT_FILE).read_text())
    figures = fit_figures(out)
    about = (f"<p>ABC-SMC (pyabc) of <code>{_esc(manifest['scenario_file'])}</code>: "
             f"{manifest['particles']} particles per generation, each one simulation of "
             f"{manifest['population']:,} citizens (counts scaled to "
             f"{manifest['full_population']:,}) averaged over {manifest['replicates']} "
             f"seed(s); fit seed {manifest['seed']}. Fitted to "
             f"{len(manifest['targets'])} targets, each weighed by its error and its "
             "sample noise.</p><p>To reproduce: <code>"
             f"{_esc(manifest['command'])}</code> (the same particles with any number of "
             "workers).</p>")
    generations = pq.read_table(out / GENERATIONS).to_pylist()
    gens = "".join(
        f"<tr><td>{g['generation'] + 1}</td><td>{g['epsilon']:.3g}</td>"
        f"<td>{g['evaluations']:,}</td><td>{g['acceptance_rate']:.1%}</td>"
        f"<td>{g['ess']:.0f}</td><td>"
        + ("n/a" if g["wall_s"] is None else f"{g['wall_s']:.0f} s") + "</td></tr>"
        for g in generations)
    gens_table = ("<table><tr><th>generation</th><th>epsilon</th><th>simulations</th>"
                  "<th>acceptance</th><th>effective sample size</th><th>wall time</th></tr>"
                  f"{gens}</table>")
    particles = pq.read_table(out / PARTICLES).to_pandas()
    last = particles[particles.generation == particles.generation.max()]
    weights = last.weight.to_numpy(dtype=float)
    post = []
    for p in manifest["priors"]:
        q05, q25, q50, q75, q95 = weighted_quantiles(last[p["path"]].to_numpy(), weights,
                                                     (0.05, 0.25, 0.5, 0.75, 0.95))
        post.append(f"<tr><td><code>{_esc(p['path'])}</code></td><td>{numbers.rate(q50)}</td>"
                    f"<td>{_interval(q25, q75)}</td><td>{_interval(q05, q95)}</td>"
                    f"<td>{_esc(p['shape'])} {_interval(p['low'], p['high'])}</td></tr>")
    post_table = ("<table><tr><th>value</th><th>median</th><th>50% interval</th>"
                  "<th>90% interval</th><th>prior</th></tr>" + "".join(post) + "</table>")
    sections = [("What was fitted", "about", about),
                ("Generations", "generations", gens_table),
                ("Posterior", "posterior", post_table
                 + figure_html("posterior", figures["posterior"], "Each fitted value's "
                               "posterior over its prior's range: the weighted particles of "
                               "the last generation, the median and the 90% interval."))]
    if (out / PREDICTION).is_file():
        rows = pq.read_table(out / PREDICTION).to_pylist()
        body = "".join(
            f"<tr data-target='{r['target']}'><td>{r['target'] + 1}</td>"
            f"<td>{_esc(r['metric'])}</td><td>{_esc(r['on'] or '')}</td>"
            f"<td>{'fitted' if r['role'] == 'fitted' else 'held out'}</td>"
            f"<td>{numbers.rate(r['expected'])}</td><td>{numbers.rate(r['median'])}</td>"
            f"<td>{_interval(r['q05'], r['q95'])}</td>"
            f"<td>{'yes' if r['inside_90'] else '<b>no</b>'}</td></tr>" for r in rows)
        held = [r for r in rows if r["role"] == "predicted"]
        coverage = (f"<p>Held-out figures inside their 90% interval: "
                    f"{sum(r['inside_90'] for r in held)} of {len(held)}.</p>" if held else "")
        table = ("<table id='prediction'><tr><th>#</th><th>metric</th><th>on</th><th>role</th>"
                 "<th>published x natural_persons</th><th>median</th><th>90% interval</th>"
                 f"<th>inside</th></tr>{body}</table>{coverage}")
        figure = ""
        if "posterior_predictive" in figures:
            figure = figure_html("posterior-predictive", figures["posterior_predictive"],
                                 "Published points (filled: fitted; open: held out) against "
                                 "the posterior predictive: the 90% band, the 50% band "
                                 "(hatched) and the median, over the targets' dates. Levels "
                                 "as the targets count them; the table gives every number.")
        sections.append(("Posterior predictive", "prediction", table + figure))
    else:
        sections.append(("Posterior predictive", "prediction", "<p class='note'>Not run yet: "
                         "<code>scsim predict FIT</code> simulates draws of the posterior "
                         "under several seeds and adds every target's interval here.</p>"))
    return sections
