"""Say in words and tables what a scenario describes (``scsim validate``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

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
    console.print(Text.assemble((s.name, "bold"), f": {s.description}" if s.description else ""))
    console.print(f"file {loaded.source}, sha256 {loaded.sha256[:16]}..., format {s.format}")
    console.print(f"{pop.size:,} citizens for {s.run.days} days, seed {s.run.seed}")
    console.print(f"groups: {_shares(pop.groups)}")
    console.print(f"income levels: {_shares(pop.income_levels)}")
    regions = pop.regions if len(pop.regions) <= 8 else [*pop.regions[:6]]
    more = "" if len(pop.regions) <= 8 else f", ... ({len(pop.regions)} regions)"
    console.print(f"regions: {_shares(regions)}{more}")
    for region, shares in pop.group_shares_by_region.items():
        console.print(f"groups in {region}: " + ", ".join(f"{g} {v:.4g}"
                                                           for g, v in shares.items()))
    if len(pop.propensity_levels) > 1:
        console.print(f"personal propensities: {_shares(pop.propensity_levels)}")
    if pop.households is not None:
        h = pop.households
        kinds = ", ".join(f"{t.adults}a{f'+{t.elders}e' if t.elders else ''}"
                          f"{f'+{t.children}c' if t.children else ''} {t.share:.3g}"
                          for t in h.types)
        console.print(f"households (adults+elders+children, share): {kinds}; neighbourhoods of "
                      f"{h.neighbourhood_size}, {h.contacts_per_citizen:g} contacts per citizen")

    channel_of = {b: (name, ch) for name, ch in s.channels.items() for b in ch.records}
    table = Table(title="Behaviours", show_edge=False)
    for col in ("behaviour", "kind", "daily rate", "multipliers", "channel",
                "coverage x detection", "points", "rate factor when recorded"):
        table.add_column(col)
    for name, b in s.behaviours.items():
        multipliers = ", ".join(
            f"{k} x{v:g}"
            for d in (b.multiplier_by_group, b.multiplier_by_income, b.multiplier_by_region,
                      b.multiplier_by_propensity, b.multiplier_by_age)
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
           else "" if sc.blacklist_behaviours else ", no blacklist")
        + (", grades " + ", ".join(f"{g.name} >= {g.min_score}" for g in sc.grades)
           if sc.grades else "")
    )
    safeguards = [
        f"listed while holding a record of {', '.join(sc.blacklist_behaviours)}"
        if sc.blacklist_behaviours else "",
        f"records expire after {sc.retention_days} days" if sc.retention_days else "",
        (f"appeals: {sc.appeals.contest_share:g} of false records contested, "
         f"{sc.appeals.success_rate:g} succeed after {sc.appeals.delay_days} days")
        if sc.appeals else "",
        (f"credit repair: {sc.credit_repair.share:g} of records repaired after "
         f"{sc.credit_repair.delay_days} days") if sc.credit_repair else "",
        (f"human review catches {sc.human_review.false_record_catch:g} of false records")
        if sc.human_review else "",
    ]
    for line in filter(None, safeguards):
        console.print(f"scheme: {line}")
    m = s.measures
    for line in filter(None, [
        f"speech suspension: {m.speech_suspension.days} days on {m.speech_suspension.trigger}"
        if m.speech_suspension else "",
        f"employment penalty: paid {m.employment_penalty.levels_down} income level(s) lower "
        "while blacklisted" if m.employment_penalty else "",
        f"school admission: {m.school_admission.applying_share:g} of children apply on day "
        f"{m.school_admission.day_of_year}; refused if a parent is blacklisted"
        if m.school_admission else "",
        f"deposit waiver for grades {', '.join(m.deposit_waiver.grades)}"
        if m.deposit_waiver else "",
    ]):
        console.print(line)
    if s.deterrence is not None:
        d = s.deterrence
        console.print(
            f"deterrence: risk jumps own record {d.own_record:g}, own sanction "
            f"{d.own_sanction:g}, household {d.household_sanction:g}, contact "
            f"{d.contact_sanction:g}; decays over {d.decay_days:g} days; sensitivity offences "
            f"{d.offence_sensitivity:g}, speech {d.speech_sensitivity:g}"
        )
    if s.calibration is not None:
        for target in s.calibration.targets:
            console.print(f"calibration target: {target.metric}"
                          f"{f' ({target.group})' if target.group else ''} = "
                          f"{target.published:,.4g} ({target.source})")
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
