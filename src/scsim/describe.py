"""A scenario in words and tables, for the terminal (``scsim validate``) and for reports.

``describe`` turns a scenario into plain data (sentences and a behaviour
table); ``print_description`` lays it out for an 80-column terminal and
``description_html`` as prose and a table for a page, so both say the same.
Small daily probabilities are given per million citizen-days, which reads
better than e-notation.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scsim import numbers
from scsim.engine.memory import (
    CITIZEN_COLUMNS,
    DERIVED_TRAITS,
    bytes_per_citizen,
    estimate_memory,
    format_bytes,
)
from scsim.mechanisms import BY_NAME, MECHANISMS
from scsim.numbers import per_million
from scsim.scenario.load import LoadedScenario
from scsim.scenario.model import Scenario

WIDE_TABLE = 120
"""Terminal width from which the behaviours are a table rather than paragraphs."""
MAX_LISTED = 8
"""Categories named in full; longer lists are cut with a count."""


@dataclass
class Description:
    title: str
    summary: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    """(topic, sentence): population, scheme, measures, safeguards, deterrence, ..."""
    behaviours: list[dict[str, str]] = field(default_factory=list)
    """One row per behaviour, keyed by BEHAVIOUR_COLUMNS."""
    world_facts: int = 0
    """How many of ``facts`` describe the world (the population); the rest, the system."""


BEHAVIOUR_COLUMNS = ("behaviour", "kind", "per million a day", "multipliers", "recorded by",
                     "recorded with probability", "points", "when recorded")


def _share(x: float) -> str:
    return f"{x:.1%}" if x >= 0.001 or x == 0 else f"{x:.2%}"


def _categories(categories) -> str:
    listed = [f"{c.name} {_share(c.share)}" for c in categories[:MAX_LISTED]]
    more = len(categories) - MAX_LISTED
    return ", ".join(listed) + (f" and {more} more" if more > 0 else "")


def _overrides(base: float, by: dict[str, float]) -> str:
    text = f"{base:.3g}"
    if by:
        items = list(by.items())
        text += " (" + ", ".join(f"{k} {v:.3g}" for k, v in items[:MAX_LISTED])
        text += f" and {len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else ")"
    return text


def _points(s: Scenario, behaviour: str) -> str:
    """The behaviour's points in each scheme that gives it any (national first)."""
    national = (f"{s.scheme.points[behaviour]:+d}" if behaviour in s.scheme.points
                else "0")
    pilots = [f"{name} {p.points[behaviour]:+d}" for name, p in s.pilots.items()
              if behaviour in p.points]
    only = " (only in pilots)" if s.behaviours[behaviour].pilots_only else ""
    if not pilots:
        return national + only
    return (f"{national} nationally, " if not only else "") + ", ".join(pilots) + only


def _pilot(p) -> str:
    grades = ("; grades " + ", ".join(f"{g.name.upper()} from {g.min_score}" for g in p.grades)
              if p.grades else "; no grades")
    return (f"{p.share_of_region:.2%} of {p.region}: scores start at {p.start_score} and stay "
            f"within [{p.min_score}, {p.max_score}]" + grades)


def describe(s: Scenario) -> Description:
    """The scenario as sentences and a behaviour table."""
    pop = s.population
    d = Description(s.name, s.description)
    d.facts.append(("population", f"{numbers.count(pop.size)} synthetic citizens over "
                                  f"{s.run.days:,} days"
                                  + (f" ({s.run.start} to {s.run.last_date})"
                                     if s.run.start is not None else "")
                                  + (f", reported from {s.run.report_from} (the days before "
                                     "are a burn-in)" if s.run.report_from is not None else "")
                                  + f", seed {s.run.seed}"))
    d.facts.append(("groups", _categories(pop.groups)
                    + f"; the first, {pop.groups[0].name}, is the reference for disparity"))
    d.facts.append(("income levels", _categories(pop.income_levels)
                    + ("; daily income " + ", ".join(f"{c.name} {c.daily_income:,} yuan"
                                                     for c in pop.income_levels[:MAX_LISTED])
                       if any(c.daily_income for c in pop.income_levels) else "")))
    d.facts.append(("regions", _categories(pop.regions)))
    for region, shares in list(pop.group_shares_by_region.items())[:MAX_LISTED]:
        d.facts.append((f"groups in {region}",
                        ", ".join(f"{g} {_share(v)}" for g, v in shares.items())))
    if len(pop.propensity_levels) > 1:
        d.facts.append(("personal propensities", _categories(pop.propensity_levels)))
    if pop.households is not None:
        h = pop.households
        kinds = ", ".join(
            f"{t.adults} adult{'s' if t.adults > 1 else ''}"
            + (f" + {t.elders} elder{'s' if t.elders > 1 else ''}" if t.elders else "")
            + (f" + {t.children} child{'ren' if t.children > 1 else ''}" if t.children else "")
            + f" ({_share(t.share)})" for t in h.types[:MAX_LISTED])
        d.facts.append(("households", f"{kinds}; neighbourhoods of {h.neighbourhood_size} "
                                      f"citizens, {h.contacts_per_citizen:g} contacts each"))

    if pop.turnover is not None:
        tu = pop.turnover
        deaths = ", ".join(f"{band} {tu.deaths_per_1000.get(band, 0.0):g}"
                           for band in ("child", "adult", "elder"))
        d.facts.append(("turnover", f"deaths per 1,000 a year: {deaths}; births "
                                    f"{tu.births_per_1000:g} per 1,000; children come of age "
                                    f"at {tu.adult_age}, adults become elders at "
                                    f"{tu.elder_age}"))

    d.world_facts = len(d.facts)
    channel_of = {b: (name, ch) for name, ch in s.channels.items() for b in ch.records}
    for name, b in s.behaviours.items():
        multipliers = ", ".join(
            f"{k} x{v:g}"
            for by in (b.multiplier_by_group, b.multiplier_by_income, b.multiplier_by_region,
                       b.multiplier_by_propensity, b.multiplier_by_age)
            for k, v in by.items())
        ch_name, ch = channel_of.get(name, ("never recorded", None))
        recording = "-" if ch is None else (
            f"coverage {_overrides(ch.coverage, ch.coverage_by_region)} x detection "
            f"{_overrides(ch.detection, ch.detection_by_group)}")
        factor = s.adaptation.rate_factor_when_recorded.get(name)
        d.behaviours.append({
            "behaviour": name, "kind": b.kind.replace("_", " "),
            "per million a day": per_million(b.daily_rate),
            "multipliers": multipliers or "-", "recorded by": ch_name,
            "recorded with probability": recording,
            "points": _points(s, name),
            "when recorded": "-" if factor is None else f"rate x{factor:g}",
        })
    for name, ch in s.channels.items():
        fa = ch.false_attribution
        if fa is not None:
            groups = (" (" + ", ".join(f"{g} {per_million(r)}" for g, r in
                                       fa.rate_by_group.items()) + ")"
                      if fa.rate_by_group else "")
            d.facts.append((f"false records by {name}",
                            f"a false {fa.behaviour} record {per_million(fa.daily_rate)} "
                            f"times per million citizen-days{groups}; the citizen did nothing"))

    sc = s.scheme
    listing = []
    if sc.blacklist_below is not None:
        listing.append(f"below {sc.blacklist_below}")
    if sc.blacklist_behaviours:
        listing.append("while holding a record of " + ", ".join(sc.blacklist_behaviours))
    d.facts.append(("scheme", f"scores start at {sc.start_score} and stay within "
                              f"[{sc.min_score}, {sc.max_score}]; "
                    + ("blacklisted " + " or ".join(listing) if listing else "no blacklist")
                    + ("; grades " + ", ".join(f"{g.name.upper()} from {g.min_score}"
                                              for g in sc.grades) if sc.grades else "")))
    for name, p in s.pilots.items():
        d.facts.append((f"pilot {name}", _pilot(p)))
    safeguards = [m.describe(s) for m in MECHANISMS if m.section.startswith("scheme.")]
    d.facts.append(("safeguards", "; ".join(filter(None, safeguards)) or "none"))
    measures = [
        *(mechanism.describe(s) for mechanism in MECHANISMS
          if mechanism.section.startswith("measures.")),
    ]
    d.facts.append(("sanctions and rewards", "; ".join(filter(None, measures)) or "none"))
    d.facts.append(("deterrence", BY_NAME["deterrence"].describe(s)
                    or "none: nobody changes behaviour for fear of the system (beyond the "
                       "adaptation in the table)"))
    for i, entry in enumerate(s.schedule):  # (every entry: the timeline is never cut)
        changes = ", ".join([*(f"{path} = {value:g}" for path, value in entry.changes.items()),
                             *(f"{section} comes into force" for section in entry.in_force)])
        when = (f"from {entry.date}" if entry.date is not None else
                f"from {entry.from_} to {entry.to} in steps of {entry.step_days} days")
        d.facts.append((f"schedule[{i}]", f"{when}: {changes}"
                        + (f" ({entry.note})" if entry.note else "")))
    if s.calibration is not None:
        for target in s.calibration.targets:
            d.facts.append((f"calibration target {target.metric}"
                            + (f" on {target.on}" if target.on is not None else "")
                            + (f" ({target.group})" if target.group else "")
                            + (" (predicted)" if target.role == "predicted" else ""),
                            f"{numbers.rate(target.published)} ({target.source})"))
    return d


def print_description(loaded: LoadedScenario, console: Console) -> None:
    """``scsim validate``: the description, the file's hash and the memory plan."""
    d = describe(loaded.scenario)
    console.print(Text.assemble((d.title, "bold"), f": {d.summary}" if d.summary else ""))
    console.print(f"file {loaded.source}, sha256 {loaded.sha256[:16]}...")
    for topic, sentence in d.facts[: d.world_facts]:
        console.print(Text.assemble((f"{topic}: ", "bold"), sentence))
    if console.width >= WIDE_TABLE:
        table = Table(title="Behaviours", show_edge=False, show_lines=True)
        for column in BEHAVIOUR_COLUMNS:
            table.add_column(column, overflow="fold")
        for row in d.behaviours:
            table.add_row(*(row[c] for c in BEHAVIOUR_COLUMNS))
        console.print(table)
    else:  # a narrow terminal: one paragraph per behaviour reads better than 8 columns
        console.print(Text("behaviours", style="bold"))
        for row in d.behaviours:
            console.print(Text.assemble(
                "  ", (row["behaviour"], "bold"),
                f" ({row['kind']}): {row['per million a day']} per million a day",
                f", multipliers {row['multipliers']}" if row['multipliers'] != '-' else "",
                f"; recorded by {row['recorded by']}"
                + (f", {row['recorded with probability']}"
                   if row["recorded with probability"] != "-" else ""),
                f"; points {row['points']}",
                f"; when recorded {row['when recorded']}" if row["when recorded"] != "-"
                else ""))
    for topic, sentence in d.facts[d.world_facts:]:
        console.print(Text.assemble((f"{topic}: ", "bold"), sentence))
    import numba

    s = loaded.scenario
    estimate = estimate_memory(s, numba.get_num_threads())
    columns = ", ".join(f"{n} ({dt.itemsize} B: {why})" for n, dt, why in CITIZEN_COLUMNS)
    console.print(
        f"memory: about {format_bytes(estimate.total)} "
        f"({bytes_per_citizen()} bytes per citizen: {columns}; "
        f"{DERIVED_TRAITS[0]}; tallies {format_bytes(estimate.tally_bytes)})"
    )


def description_html(s: Scenario) -> str:
    """The description as prose and a table (HTML, every text escaped)."""
    d = describe(s)
    esc = html.escape
    facts = "".join(f"<li><b>{esc(topic)}</b>: {esc(sentence)}</li>" for topic, sentence
                    in d.facts)
    head = "".join(f"<th>{esc(c)}</th>" for c in BEHAVIOUR_COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{esc(row[c])}</td>" for c in BEHAVIOUR_COLUMNS)
                   + "</tr>" for row in d.behaviours)
    return (f"<p>{esc(d.summary)}</p><ul class='facts'>{facts}</ul>"
            f"<div class='wide'><table class='behaviours'><caption>Behaviours, how they are "
            f"recorded and scored</caption><tr>{head}</tr>{rows}</table></div>")
