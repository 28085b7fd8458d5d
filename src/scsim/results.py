"""Turn the kernel's tallies into the output tables of the output contract.

``daily.parquet``: one row per (day, group), days 1..T, with the contract's
columns first, then per-behaviour and per-grade columns.
``score_histogram.parquet``: citizens per score bin, per (day, group), zero
bins omitted.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from scsim.engine.sim import SimulationResult, Tallies
from scsim.kernels.layout import (
    FLOW_APPEALS,
    FLOW_APPEALS_WON,
    FLOW_ENTERED_BLACKLIST,
    FLOW_EXPIRED,
    FLOW_FALSE_CAUGHT,
    FLOW_FALSE_RECORDS,
    FLOW_LEFT_BLACKLIST,
    FLOW_LEFT_BY_APPEAL,
    FLOW_LEFT_BY_EXPIRY,
    FLOW_LEFT_BY_OTHER,
    FLOW_LEFT_BY_REPAIR,
    FLOW_REPAIRED,
    FLOW_SPEECH_BLOCKED,
    KIND_CODES,
    LEVEL_BLACKLISTED,
    LEVEL_BLACKLISTED_WITH_FALSE,
    LEVEL_POPULATION,
    LEVEL_SCORE_SUM,
    LEVEL_SCORED,
    LEVEL_WITH_FALSE_RECORDS,
    LEVEL_WRONGLY_BLACKLISTED,
    OFFENCE,
    SPEECH,
    TURNOVER_COLUMNS,
    FlowLayout,
    KernelLayout,
    behaviour_columns,
    daily_columns,
    false_records_column,
    grade_column,
)
from scsim.mechanisms import daily_columns as mechanism_columns
from scsim.quantities import EXIT_CAUSES
from scsim.scenario.model import Scenario
from scsim.scenario.schedule import dates_of

QUANTILES = (0.1, 0.5, 0.9)


def score_quantiles(
    histogram: np.ndarray, population: np.ndarray, min_score: int, width: int, q: float
) -> np.ndarray:
    """Lower q-quantile of the score per (day, group): the smallest bin edge s with F(s) >= q.

    Exact when bins are one point wide; otherwise the lower edge of the bin.
    """
    cumulative = np.cumsum(histogram, axis=-1)
    target = np.ceil(q * population)[..., None]
    if target.ndim == 2:
        target = target[None]
    below = (cumulative < np.maximum(target, 1)).sum(axis=-1)
    return min_score + below * width


def _kind_columns(s: Scenario, kind: int) -> list[int]:
    return [k for k, b in enumerate(s.behaviours.values()) if KIND_CODES[b.kind] == kind]


def _speech_published(s: Scenario, tallies: Tallies, layout: FlowLayout) -> np.ndarray:
    flows = tallies.flows[s.run.first_reported_day:]
    return (
        flows[:, :, [layout.committed(k) for k in _kind_columns(s, SPEECH)]].sum(axis=-1)
        - flows[:, :, FLOW_SPEECH_BLOCKED]
    )


def _level(levels: np.ndarray, layout: KernelLayout, name: str) -> np.ndarray:
    """A named level per (day, group); zeros when no mechanism of the kernel keeps it."""
    column = layout.level(name)
    return levels[:, :, column] if column is not None else np.zeros(levels.shape[:2], np.int64)


def _named(flows: np.ndarray, layout: FlowLayout, name: str) -> np.ndarray:
    """A named flow per (day, group); zeros when no mechanism of the kernel counts it."""
    column = layout.flow(name)
    return flows[:, :, column] if column is not None else np.zeros(flows.shape[:2], np.int64)


def daily_table(result: SimulationResult) -> pa.Table:
    """One row per (day, group): the output contract's columns first, then the rest (built
    once per result: the run's folder, its ledger and its summary all read it)."""
    if "daily" not in result.derived:
        result.derived["daily"] = _daily_table(result)
    return result.derived["daily"]


def _daily_table(result: SimulationResult) -> pa.Table:
    s = result.scenario
    first = s.run.first_reported_day  # (after a burn-in, days before it are not reported)
    days = s.run.reported_days
    groups = [c.name for c in s.population.groups]
    behaviours = list(s.behaviours)
    layout = result.plan.flows
    # with turnover the population and the scored change day by day (levels); else fixed
    turnover = s.population.turnover is not None
    if turnover:
        population = result.levels[first:, :, LEVEL_POPULATION]
        scored = result.levels[first:, :, LEVEL_SCORED]
    else:
        population = np.broadcast_to(result.population, (days, len(groups)))
        scored = np.broadcast_to(result.scored, (days, len(groups)))
    flows = result.flows[first:]
    levels = result.levels[first:]
    hist = result.score_histogram[first:]
    paired = result.counterfactual is not None

    day = np.repeat(np.arange(first, s.run.days + 1, dtype=np.int32), len(groups))
    group = np.tile(np.array(groups, dtype=object), days)

    def per_row(values: np.ndarray) -> np.ndarray:
        return values.reshape(-1)

    def flow(offset: int) -> np.ndarray:
        return per_row(flows[:, :, offset])

    speech = _kind_columns(s, SPEECH)
    offences = [layout.committed(k) for k in _kind_columns(s, OFFENCE)]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = levels[:, :, LEVEL_SCORE_SUM] / scored
    wrongly = LEVEL_WRONGLY_BLACKLISTED if paired else LEVEL_BLACKLISTED_WITH_FALSE
    columns: dict[str, np.ndarray] = {
        "day": day,
        "group": group,
        "population": per_row(population),
        "mean_score": per_row(np.where(scored > 0, mean_score, np.nan)),
        "blacklisted": per_row(levels[:, :, LEVEL_BLACKLISTED]),
        "wrongly_blacklisted": per_row(levels[:, :, wrongly]),
        "denied_trips": per_row(_named(flows, layout, "denied_trips")),
        "speech_events": per_row(flows[:, :, [layout.committed(k) for k in speech]]
                                 .sum(axis=-1)),
        "recorded_speech": per_row(flows[:, :, [layout.recorded(k) for k in speech]]
                                   .sum(axis=-1)),
        "scored": per_row(scored),
        "entered_blacklist": flow(FLOW_ENTERED_BLACKLIST),
        "left_blacklist": flow(FLOW_LEFT_BLACKLIST),
        "left_by_expiry": flow(FLOW_LEFT_BY_EXPIRY),
        "left_by_repair": flow(FLOW_LEFT_BY_REPAIR),
        "left_by_appeal": flow(FLOW_LEFT_BY_APPEAL),
        "left_by_other": flow(FLOW_LEFT_BY_OTHER),
        "blacklisted_with_false_records": per_row(levels[:, :, LEVEL_BLACKLISTED_WITH_FALSE]),
        "false_records": flow(FLOW_FALSE_RECORDS),
        "citizens_with_false_records": per_row(levels[:, :, LEVEL_WITH_FALSE_RECORDS]),
        "false_records_caught_by_review": flow(FLOW_FALSE_CAUGHT),
        "appeals": flow(FLOW_APPEALS),
        "appeals_won": flow(FLOW_APPEALS_WON),
        "records_expired": flow(FLOW_EXPIRED),
        "records_repaired": flow(FLOW_REPAIRED),
        "speech_blocked": flow(FLOW_SPEECH_BLOCKED),
        "suspended_accounts": per_row(_level(levels, result.kernel_layout,
                                             "suspended_accounts")),
        "income_lost": per_row(_level(levels, result.kernel_layout, "income_lost")),
        "school_applications": per_row(_named(flows, layout, "school_applications")),
        "school_admissions_refused": per_row(_named(flows, layout,
                                                    "school_admissions_refused")),
        "deposit_waived": per_row(_level(levels, result.kernel_layout, "deposit_waived")),
        "offences_committed": per_row(flows[:, :, offences].sum(axis=-1)),
    }
    if paired:
        cf = result.counterfactual_tallies
        cf_s = result.counterfactual
        cf_flows = cf.flows[first:]
        cf_layout = result.plan.counterfactual_flows
        columns["counterfactual_blacklisted"] = per_row(cf.levels[first:, :, LEVEL_BLACKLISTED])
        columns["counterfactual_denied_trips"] = per_row(_named(cf_flows, cf_layout,
                                                                "denied_trips"))
        columns["counterfactual_offences_committed"] = per_row(
            cf_flows[:, :, [cf_layout.committed(k) for k in _kind_columns(cf_s, OFFENCE)]]
            .sum(axis=-1)
        )
        columns["behaviours_prevented"] = (
            columns["counterfactual_offences_committed"] - columns["offences_committed"]
        )
        columns["speech_lost"] = per_row(
            _speech_published(cf_s, cf, cf_layout) - _speech_published(s, result.run, layout)
        )
        columns["counterfactual_income_lost"] = per_row(
            _level(cf.levels[first:], result.kernel_layout, "income_lost"))
        columns["counterfactual_school_admissions_refused"] = per_row(
            _named(cf_flows, cf_layout, "school_admissions_refused"))
    t = result.tables
    for q in QUANTILES:
        columns[f"score_p{round(q * 100):02d}"] = per_row(
            score_quantiles(hist, scored, t.min_score, t.score_bin_width, q)
        )
    for k, grade in enumerate(s.all_grades()):
        columns[grade_column(grade.name)] = per_row(
            levels[:, :, result.kernel_layout.first_grade + k])
    for k, b in enumerate(behaviours):
        committed, recorded = behaviour_columns(b)
        columns[committed] = per_row(flows[:, :, layout.committed(k)])
        columns[recorded] = per_row(flows[:, :, layout.recorded(k)])
    channels = false_channels(s)
    for f, channel in enumerate(channels):
        columns[false_records_column(channel)] = per_row(flows[:, :, layout.false_stream(f)])
    extra = mechanism_columns(s, result.counterfactual)
    for m in result.plan.mechanisms:
        if not m.always_reported:
            for f in m.flows:
                columns[f.name] = per_row(_named(flows, layout, f.name))
            for level in m.levels:
                columns[level.name] = per_row(_level(levels, result.kernel_layout, level.name))
            if paired:
                for column, name in m.counterfactual_flows:
                    columns[column] = per_row(_named(cf_flows, cf_layout, name))
    if turnover:
        for name in TURNOVER_COLUMNS:
            columns[name] = per_row(_named(flows, layout, name))
    if s.run.start is not None:
        dates = dates_of(s, np.arange(first, s.run.days + 1))
        columns = {"day": columns.pop("day"), "date": np.repeat(dates, len(groups)), **columns}
    expected = daily_columns(behaviours, [g.name for g in s.all_grades()], paired, channels,
                             extra, dated=s.run.start is not None, turnover=turnover)
    if list(columns) != expected:  # a name collision the loader failed to reject
        raise AssertionError(f"daily columns {list(columns)} differ from the layout {expected}")
    table = pa.table(columns)
    k = table.column_names.index("wrongly_blacklisted")
    meaning = (WRONGLY_PAIRED if paired else WRONGLY_UNPAIRED).encode()
    field = table.schema.field(k).with_metadata({b"description": meaning})
    return table.cast(table.schema.set(k, field))


RUNNING_TOTALS = ("entered_blacklist", "denied_trips", "denied_rail_trips",
                  "judgments_performed")
"""Counts the SPC reports as running totals since the list began."""


def stock_and_flows(result: SimulationResult) -> dict:
    """The list's stock at the start and the end of the reported days, the listings and the
    exits by cause between them (the first plus the listings less the exits is the last,
    exactly), and running totals since the run's first day, burn-in included, as the SPC
    counts them (natural persons only: the model has no legal persons)."""
    first = result.scenario.run.first_reported_day
    layout = result.plan.flows
    reported = result.flows[first:]
    return {
        "listed_at_start": int(result.levels[first - 1, :, LEVEL_BLACKLISTED].sum()),
        "listed_at_end": int(result.levels[-1, :, LEVEL_BLACKLISTED].sum()),
        "listings": int(reported[:, :, FLOW_ENTERED_BLACKLIST].sum()),
        "exits": int(reported[:, :, FLOW_LEFT_BLACKLIST].sum()),
        "exits_by_cause": {name: int(_named(reported, layout, name).sum())
                           for name in EXIT_CAUSES if layout.flow(name) is not None},
        "since_the_run_began": {name: int(_named(result.flows, layout, name).sum())
                                for name in RUNNING_TOTALS if layout.flow(name) is not None},
    }


WRONGLY_UNPAIRED = (
    "blacklisted citizens holding at least one false record (the output contract's R0 "
    "definition); holding one does not mean being listed because of it: pair the run with "
    "--counterfactual none to count the wrongly blacklisted")
WRONGLY_PAIRED = (
    "blacklisted citizens who, with the same draws but without false records, would not be "
    "blacklisted that day")


def false_channels(s: Scenario) -> list[str]:
    """Channels that attribute false records, in the order of the kernel's streams."""
    return [name for name, c in s.channels.items() if c.false_attribution is not None]


def transitions_table(result: SimulationResult) -> pa.Table:
    """Moves between grades: (day, group, from_grade, to_grade, citizens), nonzero rows only."""
    s = result.scenario
    grades = np.array([g.name for g in s.all_grades()], dtype=object)
    groups = np.array([c.name for c in s.population.groups], dtype=object)
    first = s.run.first_reported_day
    layout = result.plan.flows
    pairs = np.array(layout.transition_pairs(), dtype=np.int64).reshape(-1, 2)
    moves = result.flows[first:, :, layout.transitions]
    day, group, cell = np.nonzero(moves)
    return pa.table(
        {
            "day": (day + first).astype(np.int32),
            "group": groups[group],
            "from_grade": grades[pairs[cell, 0]],
            "to_grade": grades[pairs[cell, 1]],
            "citizens": moves[day, group, cell],
        },
        schema=pa.schema([("day", pa.int32()), ("group", pa.string()),
                          ("from_grade", pa.string()), ("to_grade", pa.string()),
                          ("citizens", pa.int64())]),
    )


def histogram_table(result: SimulationResult) -> pa.Table:
    s = result.scenario
    t = result.tables
    groups = np.array([c.name for c in s.population.groups], dtype=object)
    first = s.run.first_reported_day
    hist = result.score_histogram[first:]
    day, group, bin_index = np.nonzero(hist)
    low = t.min_score + bin_index * t.score_bin_width
    return pa.table(
        {
            "day": (day + first).astype(np.int32),
            "group": groups[group],
            "score_low": low.astype(np.int32),
            "score_high": np.minimum(low + t.score_bin_width - 1, t.max_score).astype(np.int32),
            "citizens": hist[day, group, bin_index],
        }
    )
