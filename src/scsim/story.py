"""A traced citizen's life as dated sentences, for readers rather than analysts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from scsim.engine.trace import CitizenTrace
from scsim.kernels.layout import (
    FLOW_APPEALS,
    FLOW_APPEALS_WON,
    FLOW_BIRTHS,
    FLOW_CAME_OF_AGE,
    FLOW_DEATHS_OF_SCORED,
    FLOW_ENTERED_BLACKLIST,
    FLOW_EXPIRED,
    FLOW_FALSE_CAUGHT,
    FLOW_LEFT_BLACKLIST,
    FLOW_REPAIRED,
    FLOW_SPEECH_BLOCKED,
    KIND_CODES,
    LEVEL_BLACKLISTED,
    LEVEL_SCORE_SUM,
    LEVEL_SCORED,
    LEVEL_WRONGLY_BLACKLISTED,
    OFFENCE,
    SPEECH,
    FlowLayout,
)
from scsim.ledger import quantities
from scsim.mechanisms import reported

START = dt.date(2026, 1, 1)
"""Day 1 of a run without ``run.start`` is shown as this date (illustrative only)."""


@dataclass
class Story:
    citizen: int
    who: str
    household: str
    events: list[tuple[int, str, str]] = field(default_factory=list)
    """(day, date, sentence) in day order."""
    outcome: str = ""
    ledger: dict[str, int] = field(default_factory=dict)
    """This citizen's ledger values (paired runs: against the counterfactual)."""

    def as_dict(self) -> dict:
        return {"citizen": self.citizen, "who": self.who, "household": self.household,
                "events": [{"day": d, "date": date, "text": text}
                           for d, date, text in self.events],
                "outcome": self.outcome, "ledger": self.ledger}


def _date(s, day: int) -> str:
    return ((s.run.start or START) + dt.timedelta(days=day - 1)).isoformat()


def _changes(s) -> dict[int, str]:
    """What the schedule changes, in words, on the first day of each entry (a ramp is told
    once, where it starts: from what to what, by when)."""
    from scsim.scenario.schedule import entry_changes

    said: dict[int, list[str]] = {}
    for day, entry, changes in entry_changes(s):
        words = [f"{path} {old:g} -> {new:g}"
                 + ("" if entry.date is not None else f" by {entry.to}")
                 for path, old, new in changes]
        words += [f"{section} comes into force" for section in entry.in_force]
        verb = "changes" if entry.date is not None else "starts to move"
        said.setdefault(day, []).append(
            f"the schedule {verb} " + "; ".join(words)
            + (f" ({entry.note})" if entry.note else ""))
    return {day: "; ".join(parts) for day, parts in said.items()}


def _times(n: int, what: str) -> str:
    return what if n == 1 else f"{what} ({n} times)"


def tell(trace: CitizenTrace) -> Story:
    s = trace.scenario
    me = trace.me
    behaviours = list(s.behaviours)
    channel_of = {b: name for name, ch in s.channels.items() for b in ch.records}
    false_streams = [(name, ch.false_attribution.behaviour) for name, ch in s.channels.items()
                     if ch.false_attribution is not None]
    layout = FlowLayout.of(s, trace.kernel_layout)
    grades = [g.name.upper() for g in s.all_grades()]
    flows, levels = trace.flows, trace.levels
    scored = levels[0, LEVEL_SCORED] == 1
    who = (f"citizen {me.citizen}: {me.age}, group {me.group}, income {me.income}, "
           f"region {me.region}"
           + (f" (pilot {me.scheme})" if me.scheme != "national" else "")
           + (f", propensity {me.propensity}" if len(s.population.propensity_levels) > 1 else "")
           + ("" if scored else " (children are not scored)"))
    household = ", ".join(f"{m.citizen} ({m.age})" for m in trace.household) or "lives alone"
    story = Story(me.citizen, who, household)
    wrong_cf = trace.counterfactual is not None

    def grade_at(day: int) -> str | None:
        first = trace.kernel_layout.first_grade
        held = np.flatnonzero(levels[day, first:first + len(grades)])
        return grades[held[0]] if held.size else None

    def add(day: int, text: str) -> None:
        story.events.append((day, _date(s, day), text))

    mechanism_flows = [flow for m in reported(s, trace.counterfactual) for flow in m.flows
                       if flow.story]
    mechanism_levels = [(trace.kernel_layout.level(v.name), v.story_on, v.story_off)
                        for m in reported(s, trace.counterfactual) for v in m.levels
                        if v.story_on and trace.kernel_layout.level(v.name) is not None]
    changes = _changes(s) if s.schedule else {}
    if s.run.report_from is not None:
        r = s.run.first_reported_day
        changes[r] = "; ".join(filter(None, (
            "the burn-in ends: from today on, the run's tables and ledger count",
            changes.get(r))))
    for day in range(1, s.run.days + 1):
        if day in changes:
            add(day, changes[day])
        f = flows[day]
        for k, b in enumerate(behaviours):
            committed, recorded = int(f[layout.committed(k)]), int(f[layout.recorded(k)])
            if not committed:
                continue
            kind = KIND_CODES[s.behaviours[b].kind]
            verb = "posted" if kind == SPEECH else "did"
            text = f"{verb} {b.replace('_', ' ')}"
            if recorded:
                points = s.scheme.points.get(b, 0)
                text += f"; recorded by {channel_of[b].replace('_', ' ')}"
                text += f" ({points:+d} points)" if points else ""
            elif kind in (OFFENCE, SPEECH):
                text += "; not recorded"
            add(day, _times(committed, text))
        for k, (channel, claimed) in enumerate(false_streams):
            false = int(f[layout.false_stream(k)])
            if false:
                add(day, _times(false, f"FALSE RECORD: {channel.replace('_', ' ')} recorded a "
                                       f"{claimed.replace('_', ' ')} they did not commit (a "
                                       "false match)"))
        for column, text in (
            (FLOW_FALSE_CAUGHT, "a false record was caught by human review and discarded"),
            (FLOW_APPEALS, "contested a false record"),
            (FLOW_APPEALS_WON, "won an appeal: the false record was removed, points restored"),
            (FLOW_EXPIRED, "a record expired: its points were restored"),
            (FLOW_REPAIRED, "a record was removed by credit repair"),
            (FLOW_SPEECH_BLOCKED, "a post was blocked: the account is suspended"),
            (FLOW_ENTERED_BLACKLIST, "PUT ON THE BLACKLIST"),
            (FLOW_LEFT_BLACKLIST, "taken off the blacklist"),
            (FLOW_CAME_OF_AGE, "came of age: scored from today"),
            (FLOW_BIRTHS, "a child was born"),
            (FLOW_DEATHS_OF_SCORED, "DIED"),
        ):
            if f[column]:
                add(day, _times(int(f[column]), text))
        for flow in mechanism_flows:
            column = layout.flow(flow.name)
            if column is not None and f[column]:
                add(day, _times(int(f[column]), flow.story))
        now, before = levels[day], levels[day - 1]
        if scored and now[LEVEL_SCORE_SUM] != before[LEVEL_SCORE_SUM]:
            add(day, f"score {before[LEVEL_SCORE_SUM]} -> {now[LEVEL_SCORE_SUM]}")
        if grades and grade_at(day) != grade_at(day - 1):
            add(day, f"grade {grade_at(day - 1)} -> {grade_at(day)}")
        for column, on, off in (
            (LEVEL_WRONGLY_BLACKLISTED,
             "listed only because of false records (without them, not listed today)",
             "no longer wrongly listed") if wrong_cf else (None, None, None),
            *mechanism_levels,
        ):
            if column is not None and now[column] != before[column]:
                add(day, (on if now[column] > before[column] else off).format(
                    value=now[column]))
    last = levels[s.run.days]
    days_listed = int(levels[1:, LEVEL_BLACKLISTED].sum())
    story.outcome = (
        f"after {s.run.days} days: "
        + (f"score {last[LEVEL_SCORE_SUM]}" + (f", grade {grade_at(s.run.days)}" if grades else "")
           + f", {days_listed} days on the blacklist" if scored else "not scored (a child)")
    )
    if wrong_cf:
        cf, cf_s = trace.counterfactual_flows, trace.counterfactual
        cf_b = list(cf_s.behaviours)

        def total(flows, spec, names, kind: int) -> int:
            return int(sum(flows[1:, layout.committed(k)].sum() for k, b in enumerate(names)
                           if KIND_CODES[spec.behaviours[b].kind] == kind))

        where = ("without the system" if cf_s.name.endswith("without the system")
                 else f"under {cf_s.name}")
        story.outcome += (
            f"; {where} the same citizen would have committed "
            f"{total(cf, cf_s, cf_b, OFFENCE)} offences and posted {total(cf, cf_s, cf_b, SPEECH)}"
            f" times (here: {total(flows, s, behaviours, OFFENCE)} and "
            f"{total(flows, s, behaviours, SPEECH)})"
        )
    columns = trace.kernel_layout
    story.ledger = {q.name: (int(trace.ledger[columns.quantity(q.name)])
                             if columns.quantity(q.name) is not None else 0)
                    for q in quantities(s, trace.counterfactual)
                    if wrong_cf or not q.needs_counterfactual}
    return story


STORY_KINDS = (
    ("wrongly_sanctioned", "listed wrongly"),
    ("sanctioned", "listed"),
    ("prosecuted", "prosecuted for speech"),
    ("ever_detained", "detained"),
    ("ever_held_in_camps", "held in a camp"),
    ("held_for_false_flags", "held in a camp on a false flag"),
    ("children_penalised", "refused a school place for a parent's listing"),
    ("children_advantaged", "given a school place for a parent's grade"),
    ("loans_denied", "refused a loan"),
    ("deposits_waived_yuan", "spared deposits"),
    ("false_records", "given a false record"),
)
"""The kinds of citizen whose story a run keeps (a ledger quantity, a caption), in the
order the report shows them; a kind the run has no example of is left out."""
DATE_NOTE = "dates are illustrative: day 1 is shown as 2026-01-01"


def kind_stories(tracer, examples: dict[str, list[int]]) -> list[dict]:
    """One story of each kind the run has (``SimulationResult.examples``), each of a citizen
    not already told as an earlier kind, with its kind and caption."""
    told: set[int] = set()
    stories = []
    for kind, caption in STORY_KINDS:
        citizen = next((c for c in examples.get(kind, []) if c not in told), None)
        if citizen is None:
            continue
        told.add(citizen)
        stories.append({"kind": kind, "caption": caption,
                        **tell(tracer.trace(citizen)).as_dict()})
    return stories
