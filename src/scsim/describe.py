"""Say in words and tables what a scenario describes (``scsim validate``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from scsim.engine.memory import (
    CITIZEN_COLUMNS,
    DERIVED_TRAITS,
    bytes_per_citizen,
    estimate_memory,
    format_bytes,
)
from scsim.scenario.load import LoadedScenario


def _shares(categories) -> str:
    return ", ".join(f"{c.name} {c.share:.4g}" for c in categories)


def _overrides(base: float, by: dict[str, float], label: str = "") -> str:
    text = f"{base:.4g}"
    if by:
        text += " (" + ", ".join(f"{k}{label} {v:.4g}" for k, v in by.items()) + ")"
    return text


def describe_scenario(loaded: LoadedScenario, console: Console) -> None:
    s = loaded.scenario
    pop = s.population
    console.print(f"[bold]{s.name}[/bold]: {s.description}" if s.description else s.name)
    console.print(f"file {loaded.source}, sha256 {loaded.sha256[:16]}..., format {s.format}")
    console.print(f"{pop.size:,} citizens for {s.run.days} days, seed {s.run.seed}")
    console.print(f"groups: {_shares(pop.groups)}")
    console.print(f"income levels: {_shares(pop.income_levels)}")
    console.print(f"regions: {_shares(pop.regions)}")

    channel_of = {b: (name, ch) for name, ch in s.channels.items() for b in ch.records}
    table = Table(title="Behaviours", show_edge=False)
    for col in ("behaviour", "kind", "daily rate", "multipliers", "channel",
                "coverage x detection", "points", "rate factor when recorded"):
        table.add_column(col)
    for name, b in s.behaviours.items():
        multipliers = ", ".join(
            f"{k} x{v:g}"
            for d in (b.multiplier_by_group, b.multiplier_by_income, b.multiplier_by_region)
            for k, v in d.items()
        )
        ch_name, ch = channel_of.get(name, ("-", None))
        recording = "never recorded" if ch is None else (
            f"{_overrides(ch.coverage, ch.coverage_by_region)} x "
            f"{_overrides(ch.detection, ch.detection_by_group)}"
        )
        factor = s.adaptation.rate_factor_when_recorded.get(name)
        table.add_row(name, b.kind, f"{b.daily_rate:.4g}", multipliers or "-", ch_name,
                      recording, str(s.scheme.points.get(name, 0)),
                      "-" if factor is None else f"{factor:g}")
    console.print(table)
    for name, ch in s.channels.items():
        fa = ch.false_attribution
        if fa is not None:
            console.print(
                f"false attribution by {name}: a false {fa.behaviour} record with daily "
                f"probability {_overrides(fa.daily_rate, fa.rate_by_group)}"
            )
    sc = s.scheme
    console.print(
        f"scheme: start {sc.start_score}, clipped to [{sc.min_score}, {sc.max_score}]"
        + (f", blacklisted below {sc.blacklist_below}" if sc.blacklist_below is not None
           else ", no blacklist")
        + (", grades " + ", ".join(f"{g.name} >= {g.min_score}" for g in sc.grades)
           if sc.grades else "")
    )
    ban = s.measures.travel_ban
    console.print(
        f"travel ban: trips attempted with daily probability {ban.daily_trip_rate:g}, "
        f"denied to the {ban.applies_to}" if ban else "travel ban: none"
    )
    import numba

    estimate = estimate_memory(s, numba.get_num_threads())
    columns = ", ".join(f"{n} ({d.itemsize} B: {why})" for n, d, why in CITIZEN_COLUMNS)
    console.print(
        f"memory: about {format_bytes(estimate.total)} "
        f"({bytes_per_citizen()} bytes per citizen: {columns}; "
        f"{DERIVED_TRAITS[0]}; tallies {format_bytes(estimate.tally_bytes)})"
    )
