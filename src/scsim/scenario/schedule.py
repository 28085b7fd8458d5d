"""Dated policy schedules: values that change on a date or ramp between two dates.

A scenario with ``run.start`` may list ``[[schedule]]`` entries.  Each one
either *sets* values from a date on::

    [[schedule]]
    date = 2017-01-01
    set = { "channels.cameras.coverage_by_region.xinjiang" = 0.9 }

or *ramps* them from the value in force on ``from`` to the given value on
``to``::

    [[schedule]]
    from = 2014-01-01
    to = 2020-01-01
    ramp = { "channels.cameras.coverage" = 0.6 }
    step_days = 30

A ramp is realised as a step function: on ``from + j * step_days`` (j = 1,
2, ...) and on ``to`` the value becomes the straight line between the two
values at that day (rounded for whole-number fields), and it stays there
until the next step.  So the run sees exactly the piecewise-constant values
``periods`` lists, and the kernel is exact under them (``engine/tables.py``:
geometric gaps restart where a class's candidate rates change).

The schedule cuts the run into *periods*; each period's values form a
complete scenario, validated like any scenario (a value a field would
refuse is refused with the entry and field named).  Only values the kernel
holds per period can be scheduled: those it tabulates (``SCHEDULABLE``) and
the values of mechanisms (``Mechanism.schedulable``), which a hook reads at
the period of the day an event happens; everything else is refused by name,
with the reason (``FIXED``), rather than ignored.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from scsim.scenario.days import date_of, day_of, in_force_day
from scsim.scenario.fields import MAX_DAYS, Date, Prose, Strict

if TYPE_CHECKING:
    from scsim.scenario.model import Scenario

SCHEDULABLE = (
    "behaviours.*.daily_rate",
    "behaviours.*.multiplier_by_group.*",
    "behaviours.*.multiplier_by_income.*",
    "behaviours.*.multiplier_by_region.*",
    "behaviours.*.multiplier_by_propensity.*",
    "behaviours.*.multiplier_by_age.*",
    "channels.*.coverage",
    "channels.*.coverage_by_region.*",
    "channels.*.detection",
    "channels.*.detection_by_group.*",
    "channels.*.false_attribution.daily_rate",
    "channels.*.false_attribution.rate_by_group.*",
    "channels.*.false_attribution.multiplier_by_region.*",
    "scheme.points.*",
    "scheme.blacklist_below",
    "adaptation.rate_factor_when_recorded.*",
)
"""Dotted paths of the tables a schedule may change (``*``: any one name); the mechanisms
add theirs (``schedulable_paths``)."""
FIXED = (
    ("run.*", "the run's calendar and seed are fixed"),
    ("population.*", "the population is drawn once, when each neighbourhood is set up (its "
                     "turnover rates too)"),
    ("scheme.start_score", "the score every citizen starts with is fixed for the run"),
    ("scheme.min_score", "the score scale (its bounds, and the histogram's bins) is fixed "
                         "for the run"),
    ("scheme.max_score", "the score scale (its bounds, and the histogram's bins) is fixed "
                         "for the run"),
    ("scheme.grades*", "the grades' bounds are fixed for the run"),
    ("pilots.*", "a pilot's place, scale, grades and points are fixed for the run"),
    ("deterrence.decay_days", "perceived risk decays at one rate over the whole run"),
    ("measures.school_admission.day_of_year", "the day admissions are decided is fixed for "
                                              "the run"),
    ("measures.employment_penalty.levels_down", "it sets which candidate events both sides "
                                                "of a pair draw, so it is fixed for the run"),
    ("output.*", "an output setting is not a value of the model"),
)
"""(pattern, why) for values a schedule may not change."""
WORLD_PREFIXES = ("behaviours.",)
"""Scheduled paths that belong to the world (shared by both sides of a pair); the rest are
the system's, the policy side."""
MAX_PERIODS = 2_000
"""Periods of constant values a schedule may cut a run into (each holds its own tables)."""


class ScheduleEntry(Strict):
    """One dated change: ``set`` values from ``date`` on, or ``ramp`` them from ``from`` to
    ``to`` in steps of ``step_days``."""

    date: Date | None = None
    """The first day the values of ``set`` apply."""
    set: dict[str, float] = Field(default={}, max_length=10_000)
    """Dotted paths (quoted TOML keys) and the values they take from ``date`` on."""
    from_: Date | None = Field(default=None, alias="from")
    """The day a ramp starts (the value in force then is its starting value)."""
    to: Date | None = None
    """The day a ramp reaches its values."""
    ramp: dict[str, float] = Field(default={}, max_length=10_000)
    """Dotted paths and the values they reach on ``to``."""
    step_days: Annotated[int, Field(gt=0, le=MAX_DAYS)] = 30
    """Days between a ramp's steps."""
    in_force: list[str] = Field(default=[], max_length=100)
    """Sections of mechanisms (e.g. "measures.travel_ban") that act only from ``date`` on."""
    note: Prose = ""
    """What the change is (shown in the report's timeline)."""

    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)

    @model_validator(mode="after")
    def _one_kind(self) -> ScheduleEntry:
        is_set = self.date is not None or self.set or self.in_force
        is_ramp = self.from_ is not None or self.to is not None or self.ramp
        if is_set and is_ramp:
            raise ValueError("an entry either sets values on a date (date, set) or ramps them "
                             "(from, to, ramp), not both")
        if is_set and (self.date is None or not (self.set or self.in_force)):
            raise ValueError("a dated entry needs date and set (or in_force)")
        if is_ramp:
            if self.from_ is None or self.to is None or not self.ramp:
                raise ValueError("a ramp needs from, to and ramp")
            if self.to <= self.from_:
                raise ValueError(f"a ramp must end after it starts (from {self.from_}, "
                                 f"to {self.to})")
        if not is_set and not is_ramp:
            raise ValueError("an entry needs date and set (or in_force), or from, to and ramp")
        return self

    @property
    def first(self) -> datetime.date:
        """The entry's first date (its date, or the ramp's start)."""
        return self.date if self.date is not None else self.from_

    @property
    def changes(self) -> dict[str, float]:
        return self.set or self.ramp


@dataclass(frozen=True)
class Period:
    """Days ``first_day`` .. ``last_day`` of the run, with the values in force on them."""

    first_day: int
    last_day: int
    scenario: Scenario
    changed: tuple[str, ...]
    """Paths whose values changed on ``first_day`` (none for the first period)."""


def has_schedule(*scenarios: Scenario | None) -> bool:
    """Whether a run of these scenarios needs the kernel that handles periods."""
    return any(s is not None and (bool(s.schedule) or s.run.report_from is not None)
               for s in scenarios)


def forced_cuts(s: Scenario) -> set[int]:
    """Days that start a period whatever changes: the end of a burn-in, and every day a
    mechanism comes into force (its members wake then)."""
    days = {s.run.first_reported_day}
    days |= {day_of(s, e.date) for e in s.schedule if e.in_force}
    return {d for d in days if 1 < d <= s.run.days}


def dates_of(s: Scenario, days):
    """The dates (numpy datetime64[D]) of an array of the run's day numbers."""
    import numpy as np

    return np.datetime64(s.run.start, "D") + (np.asarray(days) - 1).astype("timedelta64[D]")


def is_world(path: str) -> bool:
    return path.startswith(WORLD_PREFIXES)


def _number_at(raw: dict[str, Any], path: str) -> Any:
    node: Any = raw
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _effective(raw: dict[str, Any], path: str) -> float:
    """The value in force at ``path``, also where the scenario leaves it to a fallback (a
    group without its own detection has the channel's, a multiplier not given is 1)."""
    value = _number_at(raw, path)
    if value is not None:
        return float(value)
    parent, _ = path.rsplit(".", 1)
    section, mapping = parent.rsplit(".", 1) if "." in parent else ("", parent)
    fallback = {"coverage_by_region": "coverage", "detection_by_group": "detection",
                "rate_by_group": "daily_rate"}.get(mapping)
    if fallback is not None:
        return float(_number_at(raw, f"{section}.{fallback}"))
    return 0.0 if path.startswith("scheme.points.") else 1.0


def effective_value(s: Scenario, path: str) -> float:
    """The value in force at a schedulable path of a scenario (fallbacks included)."""
    return _effective(s.model_dump(mode="json"), path)


def _set(raw: dict[str, Any], path: str, value: float) -> None:
    *parents, leaf = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[leaf] = value


def _integral(raw: dict[str, Any], path: str) -> bool:
    """Whether the field at ``path`` holds whole numbers (days, points, a threshold)."""
    value = _number_at(raw, path)
    return (path == "scheme.blacklist_below" or path.startswith("scheme.points.")
            or (isinstance(value, int) and not isinstance(value, bool)))


def schedulable_paths() -> tuple[str, ...]:
    """Every pattern a schedule may change: the tables' and the mechanisms'."""
    from scsim.mechanisms import MECHANISMS

    return SCHEDULABLE + tuple(p for m in MECHANISMS for p in m.schedulable)


def path_problem(s: Scenario, raw: dict[str, Any], path: str) -> str | None:
    """Why a schedule may not set ``path``, or None."""
    from scsim.scenario.load import override_problem

    if not any(fnmatchcase(path, pattern) and path.count(".") == pattern.count(".")
               for pattern in schedulable_paths()):
        why = next((why for pattern, why in FIXED if fnmatchcase(path, pattern)), None)
        return (f"cannot change over time: {why}" if why is not None else
                "cannot change over time (schedulable: behaviour rates and multipliers, "
                "channel coverage, detection and false attribution, points, "
                "scheme.blacklist_below, adaptation, and the values of measures, safeguards "
                "and deterrence)")
    problem = override_problem(raw, path, may_add=False)
    if problem is not None:
        return problem
    parent = path.rsplit(".", 1)[0]
    if not isinstance(_number_at(raw, parent), dict) and parent != "scheme":
        return f"{parent} is not set in the scenario, so nothing of it can change"
    if path == "scheme.retention_days" and s.scheme.retention_days is None:
        return ("records never expire in this scenario, so their retention cannot change; "
                "give scheme.retention_days (longer than the run keeps every record until "
                "the change)")
    if path == "scheme.blacklist_below" and s.scheme.blacklist_below is None:
        return ("the scenario has no score threshold to change; give scheme.blacklist_below "
                "(for a threshold that starts later, min_score keeps everybody off the list)")
    return None


def _steps(s: Scenario, entry: ScheduleEntry) -> list[tuple[int, float]]:
    """(day, fraction of the way) of each step of a ramp (the last one on ``to``)."""
    first, last = day_of(s, entry.from_), day_of(s, entry.to)
    days = [*range(first + entry.step_days, last, entry.step_days), last]
    return [(d, (d - first) / (last - first)) for d in days]


def schedule_problems(s: Scenario) -> list[tuple[str, str]]:
    """(field, reason) for every entry that cannot be applied; empty if the schedule is sound."""
    problems: list[tuple[str, str]] = []
    if not s.schedule:
        return problems
    if s.run.start is None:
        return [("schedule", "dated changes need run.start (the date of day 1)")]
    end = s.run.last_date
    raw = _base_raw(s)
    ramps: dict[str, tuple[int, datetime.date, datetime.date]] = {}
    previous = None
    started: dict[str, int] = {}
    set_on: dict[tuple[str, datetime.date], int] = {}
    for i, entry in enumerate(s.schedule):
        where = f"schedule[{i}]"
        dates = [entry.date] if entry.date is not None else [entry.from_, entry.to]
        for date in dates:
            if not s.run.start <= date <= end:
                problems.append((where, f"{date} is outside the run ({s.run.start} to {end})"))
        if previous is not None and entry.first < previous:
            problems.append((where, f"{entry.first} comes before the previous entry's "
                                    f"{previous}; list entries in date order"))
        previous = entry.first
        for j, section in enumerate(entry.in_force):
            problem = _in_force_problem(s, section, started)
            if problem is not None:
                problems.append((f"{where}.in_force[{j}]", problem))
            started[section] = i
        for path in entry.changes:
            problem = path_problem(s, raw, path)
            if problem is not None:
                problems.append((f"{where}.{'set' if entry.date else 'ramp'}.{path}", problem))
                continue
            if path in ramps:
                j, lo, hi = ramps[path]
                if lo <= entry.first <= hi:
                    problems.append((f"{where}.{'set' if entry.date else 'ramp'}.{path}",
                                     f"changes a value schedule[{j}] is ramping "
                                     f"({lo} to {hi})"))
            if entry.ramp:
                ramps[path] = (i, entry.from_, entry.to)
            elif (path, entry.date) in set_on:
                problems.append((f"{where}.set.{path}", (
                    f"schedule[{set_on[path, entry.date]}] also sets it on {entry.date}: one "
                    "would silently replace the other; give the value once")))
            else:
                set_on[path, entry.date] = i
    if problems:
        return problems
    try:
        periods(s)
    except ScheduleError as exc:
        return exc.problems
    return []


def _in_force_problem(s: Scenario, section: str, started: dict[str, int]) -> str | None:
    from scsim.mechanisms import MECHANISMS

    later = [m for m in MECHANISMS if m.can_start_later]
    named = {m.section: m for m in MECHANISMS}
    if section not in named:
        return (f"unknown mechanism section {section!r} (those that can come into force on a "
                f"date: {', '.join(m.section for m in later)})")
    mechanism = named[section]
    if not mechanism.can_start_later:
        return (f"{section} cannot come into force on a date yet (those that can: "
                f"{', '.join(m.section for m in later)})")
    if not mechanism.active(s):
        return f"{section} is not in the scenario: give its section, then say when it starts"
    if section in started:
        return f"{section} already comes into force in schedule[{started[section]}]"
    return None


class ScheduleError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems))
        self.problems = problems


def _base_raw(s: Scenario) -> dict[str, Any]:
    # (a period's values are checked as a scenario; what it is compared with, and where its
    # values come from, were checked with the scenario's own)
    return s.model_dump(mode="json", by_alias=True,
                        exclude={"schedule", "calibration", "sources"})


def periods(s: Scenario) -> list[Period]:
    """The run cut where scheduled values change, with each period's complete scenario.

    A day on which nothing changes value (a schedule that sets what already is)
    starts no period; the first reported day of a burn-in (``run.report_from``)
    always starts one.  Raises ``ScheduleError`` naming the entry and field of a
    value its field refuses.
    """
    forced = forced_cuts(s)
    if not s.schedule and not forced:
        return [Period(1, s.run.days, s, ())]
    # every change as (day, entry, step, path, value, fraction of the way), in that order
    events: list[tuple[int, int, int, str, float, float]] = []
    for i, entry in enumerate(s.schedule):
        if entry.date is not None:
            events += [(day_of(s, entry.date), i, 0, path, value, 1.0)
                       for path, value in entry.set.items()]
        else:
            events += [(day, i, j, path, value, fraction)
                       for j, (day, fraction) in enumerate(_steps(s, entry))
                       for path, value in entry.ramp.items()]
    events = sorted((e for e in events if e[0] <= s.run.days), key=lambda e: e[:3])
    days = sorted({e[0] for e in events} | forced)
    current = _base_raw(s)
    starts: dict[tuple[int, str], float] = {}
    first = copy.deepcopy(current)  # the first period's values
    cuts: list[tuple[int, dict[str, Any], tuple[str, ...]]] = []
    k = 0
    for day in days:
        changed: list[str] = []
        while k < len(events) and events[k][0] == day:
            _, i, _, path, target, fraction = events[k]
            value = target
            if s.schedule[i].ramp:
                start = starts.setdefault((i, path), _effective(current, path))
                value = start + (target - start) * fraction
            if _integral(current, path) and (s.schedule[i].ramp
                                             or float(value).is_integer()):
                value = round(value)  # (a whole-number field's ramp steps are rounded)
            if _number_at(current, path) != value:
                _set(current, path, value)
                changed.append(path)
            k += 1
        if day == 1:  # changes on the first day are the first period's values
            first = copy.deepcopy(current)
        elif changed or day in forced:
            cuts.append((day, copy.deepcopy(current), tuple(dict.fromkeys(changed))))
        if len(cuts) >= MAX_PERIODS:
            raise ScheduleError([("schedule", f"cuts the run into more than {MAX_PERIODS:,} "
                                              "periods; use longer ramp steps (step_days)")])
    cuts.insert(0, (1, first, ()))
    ends = [day - 1 for day, _, _ in cuts[1:]] + [s.run.days]
    return [_period(s, raw, first, last, changed)
            for (first, raw, changed), last in zip(cuts, ends, strict=True)]


def _period(s: Scenario, raw: dict[str, Any], first_day: int, last_day: int,
            changed: tuple[str, ...]) -> Period:
    from scsim.scenario.load import ScenarioError, validate_scenario

    try:
        scenario = validate_scenario(raw, "<schedule>").scenario
    except ScenarioError as exc:
        when = date_of(s, first_day)
        entries = [i for i, e in enumerate(s.schedule) if e.first <= when]
        where = f"schedule[{entries[-1]}]" if entries else "schedule"
        raise ScheduleError([(where, f"on {when}: {field}: {reason}")
                             for field, reason in exc.problems]) from None
    scenario._not_yet_in_force = frozenset(  # (what the period's sanctions cost: the response)
        section for entry in s.schedule for section in entry.in_force
        if in_force_day(s, section) > first_day)
    return Period(first_day, last_day, scenario, changed)


def world_schedule(s: Scenario) -> list[dict[str, Any]]:
    """The world's part of the schedule (entries of world paths only), for pairing."""
    out = []
    for entry in s.schedule:
        changes = {p: v for p, v in entry.changes.items() if is_world(p)}
        if changes:
            kind = {"set": changes} if entry.date is not None else {"ramp": changes}
            out.append(entry.model_copy(update={**kind, "in_force": []})
                       .model_dump(mode="json", by_alias=True))
    return out


def without_policy(s: Scenario) -> list[ScheduleEntry]:
    """The entries of ``s`` reduced to their world paths (a counterfactual's schedule)."""
    return [ScheduleEntry.model_validate(e) for e in world_schedule(s)]


def entry_changes(s: Scenario) -> list[tuple[int, ScheduleEntry, list[tuple[str, float, float]]]]:
    """Each entry with its first day and, per path, the value in force before it and the value
    it sets (a ramp: the value it reaches), for telling the schedule in words."""
    cut = periods(s)

    def before(day: int) -> Scenario:
        return next(p.scenario for p in reversed(cut) if p.first_day < max(day, 2))

    out = []
    for entry in s.schedule:
        day = max(day_of(s, entry.first), 1)
        old = before(day)
        out.append((day, entry, [(path, effective_value(old, path), value)
                                 for path, value in entry.changes.items()]))
    return out
