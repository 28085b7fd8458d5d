"""Simulated against published: the figures a preset's ``[calibration]`` targets name.

Counts per year are scaled from the simulated population to the scenario's
``population.size`` (so a national preset can be checked on a sample of ten
million); rates per citizen need no scaling.  Runs shorter or longer than a
year are converted to per-year figures by 365 / (reported) days.  Figures on
a date (``on``: a stock, or a running total from the first reported day)
need a calendar.  A target is *fitted* (the scenario was tuned to it) or
*predicted* (left out of the tuning: a test of the model).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scsim.engine.sim import SimulationResult
from scsim.kernels.layout import GOOD_DEED, KIND_CODES, OFFENCE, Q_SANCTIONED
from scsim.results import daily_table
from scsim.scenario.days import date_of, day_of
from scsim.scenario.load import DATED_METRICS
from scsim.scenario.model import CALIBRATION_METRICS, CalibrationTarget, Scenario


@dataclass(frozen=True)
class Comparison:
    target: CalibrationTarget
    simulated: float | None
    """None where the run cannot give the figure (nobody was ever blacklisted, or the date of
    the figure is outside the run's reported days)."""

    @property
    def expected(self) -> float:
        """The published figure the model's citizens stand for (times ``natural_persons``)."""
        return self.target.published * self.target.natural_persons

    @property
    def ratio(self) -> float | None:
        return None if self.simulated is None else self.simulated / self.expected

    @property
    def reproduced(self) -> bool:
        return self.ratio is not None and abs(self.ratio - 1) <= self.target.tolerance


def _kind_sum(columns: dict[str, np.ndarray], result: SimulationResult, kind: int) -> float:
    return float(sum(columns[f"{b}_recorded"].sum()
                     for b, spec in result.scenario.behaviours.items()
                     if KIND_CODES[spec.kind] == kind))


Metric = Callable[[dict[str, np.ndarray], SimulationResult, list[int], float], float | None]


def _per_year(column: str) -> Metric:
    def count(columns, result, groups, scale):
        return float(columns[column].sum()) * 365 / result.scenario.run.reported_days * scale
    return count


def _travel_blocks_per_listed_year(columns, result, groups, scale):
    listed_years = float(columns["blacklisted"].sum()) / 365
    return None if listed_years == 0 else float(columns["denied_trips"].sum()) / listed_years


def _per_scored_year(kind: int, with_false: bool) -> Metric:
    def rate(columns, result, groups, scale):
        scored = float(result.scored[groups].sum())
        if scored == 0:
            return None
        records = _kind_sum(columns, result, kind)
        if with_false:
            records += float(columns["false_records"].sum())
        return records / scored * 365 / result.scenario.run.reported_days
    return rate


def _summed(columns, names, days: np.ndarray, scale: float) -> float:
    return float(sum(columns[name][days].sum() for name in names)) * scale


def _total(columns, result, groups, scale, target, names=None):
    """The named columns (``target.columns``, or ``names``) summed over the days from
    ``from`` (or the first reported day) to ``on``."""
    days = columns["day"] <= day_of(result.scenario, target.on)
    if target.from_ is not None:
        days &= columns["day"] >= day_of(result.scenario, target.from_)
    return _summed(columns, names or target.columns, days, scale)


def _level_on(columns, result, groups, scale, target, names=None):
    """The named columns (``target.columns``, or ``names``) summed on the day ``on``."""
    return _summed(columns, names or target.columns,
                   columns["day"] == day_of(result.scenario, target.on), scale)


def _share_on(columns, result, groups, scale, target):
    """The named columns on the day ``on`` over the population then (of the target's group):
    a share, so not scaled."""
    today = columns["day"] == day_of(result.scenario, target.on)
    population = float(columns["population"][today].sum())
    return None if population == 0 else _summed(columns, target.columns, today, 1.0) / population


FIXED_COLUMNS = {"cumulative_blacklist_entries": ("entered_blacklist",),
                 "cumulative_travel_blocks": ("denied_trips",), "blacklisted_on": ("blacklisted",)}
"""The columns of the dated metrics that name their own (the others name ``columns``)."""
RUNNING = frozenset({"total", "cumulative_blacklist_entries", "cumulative_travel_blocks"})
"""Dated metrics that are running totals (the others are levels on the day, or shares)."""


def _of(metric, *names: str) -> Metric:
    """A dated metric of fixed columns: ``total`` or ``level_on`` of ``names``."""
    def value(columns, result, groups, scale, target):
        return metric(columns, result, groups, scale, target, names)
    return value


def _sanctioned_share(columns, result, groups, scale):
    scored = float(result.scored[groups].sum())
    return None if scored == 0 else float(result.ledger_sum[groups, Q_SANCTIONED].sum()) / scored


def _held_share_at_end(columns, result, groups, scale):
    """Held in camps at the end of the last day, over the population then."""
    if "held_in_camps" not in columns:
        return None
    last = columns["day"] == result.scenario.run.days
    population = float(columns["population"][last].sum())
    return None if population == 0 else float(columns["held_in_camps"][last].sum()) / population


def _ever_held_share(columns, result, groups, scale):
    quantities = result.kernel_layout.quantities
    scored = float(result.scored[groups].sum())
    if "ever_held_in_camps" not in quantities or scored == 0:
        return None
    column = quantities.index("ever_held_in_camps")
    return float(result.ledger_sum[groups, column].sum()) / scored


METRICS: dict[str, tuple[str, Metric]] = {
    "blacklist_entries_per_year": ("citizens put on the blacklist per year (person-times)",
                                   _per_year("entered_blacklist")),
    "travel_blocks_per_listed_year": ("trips denied per blacklisted person-year",
                                      _travel_blocks_per_listed_year),
    "recorded_speech_per_year": ("speech events recorded per year", _per_year("recorded_speech")),
    "repairs_per_year": ("records removed by credit repair per year",
                         _per_year("records_repaired")),
    "recorded_offences_per_scored_year": (
        "offence records (true and false) per scored citizen per year",
        _per_scored_year(OFFENCE, True)),
    "recorded_good_deeds_per_scored_year": ("good-deed records per scored citizen per year",
                                            _per_scored_year(GOOD_DEED, False)),
    "sanctioned_share_of_scored": ("share of scored citizens blacklisted at least once in the run",
                                   _sanctioned_share),
    "cumulative_blacklist_entries": ("listings since the first reported day, to the date "
                                     "(person-times)",
                                     _of(_total, *FIXED_COLUMNS["cumulative_blacklist_entries"])),
    "cumulative_travel_blocks": ("trips denied since the first reported day, to the date",
                                 _of(_total, *FIXED_COLUMNS["cumulative_travel_blocks"])),
    "blacklisted_on": ("citizens on the blacklist on the date",
                       _of(_level_on, *FIXED_COLUMNS["blacklisted_on"])),
    "held_in_camps_share_at_end": ("share of the population held in camps at the end of the "
                                   "run", _held_share_at_end),
    "ever_held_in_camps_share_of_scored": ("share of scored citizens sent to a camp in the run",
                                           _ever_held_share),
    "total": ("the named daily columns summed from the first reported day (or from) to the "
              "date", _total),
    "level_on": ("the named daily columns on the date", _level_on),
    "share_on": ("the named daily columns on the date over the population then", _share_on),
}
DATED = frozenset(DATED_METRICS)
assert tuple(METRICS) == CALIBRATION_METRICS


def compare(result: SimulationResult, targets: list[CalibrationTarget],
            full_population: int) -> list[Comparison]:
    """Each target against the run, counts scaled to ``full_population`` citizens."""
    table = daily_table(result)
    group_names = [g.name for g in result.scenario.population.groups]
    row_groups = np.array(table.column("group").to_pylist(), dtype=object)
    scale = full_population / result.scenario.population.size
    comparisons = []
    for target in targets:
        if target.group is None:
            groups = list(range(len(group_names)))
            columns = {name: table.column(name).to_numpy() for name in table.column_names
                       if name != "group"}
        else:
            groups = [group_names.index(target.group)]
            mask = row_groups == target.group
            columns = {name: table.column(name).to_numpy()[mask] for name in table.column_names
                       if name != "group"}
        _, metric = METRICS[target.metric]
        if target.metric in DATED:
            s = result.scenario
            reported = s.run.report_from or s.run.start
            inside = reported <= target.on <= s.run.last_date
            value = metric(columns, result, groups, scale, target) if inside else None
        else:
            value = metric(columns, result, groups, scale)
        comparisons.append(Comparison(target, value))
    return comparisons


# --- the figures over time: what docs/calibration.md draws against the published points ---

@dataclass(frozen=True)
class Trajectory:
    """A dated target's figure on every reported day of its window (``values[k]`` on
    ``dates[k]``), in the units it is compared in (scaled counts, or a share)."""

    dates: list[datetime.date]
    values: np.ndarray


def trajectory(result: SimulationResult, target: CalibrationTarget,
               full_population: int) -> Trajectory | None:
    """What ``compare`` gives for ``target`` on its own date, on every day up to it (a
    running total from its first day, a level or a share on each day); None for a figure per
    year."""
    if target.metric not in DATED:
        return None
    s = result.scenario
    table = daily_table(result)
    day = table.column("day").to_numpy()
    keep = np.ones(len(day), dtype=bool)
    if target.group is not None:
        keep = np.array(table.column("group").to_pylist(), dtype=object) == target.group
    first = s.run.first_reported_day
    if target.from_ is not None:
        first = max(first, day_of(s, target.from_))
    last = min(day_of(s, target.on), s.run.days)
    days = np.arange(first, last + 1)
    if len(days) == 0:
        return None
    keep &= (day >= first) & (day <= last)

    def per_day(name: str) -> np.ndarray:
        return np.bincount(day[keep] - first, weights=table.column(name).to_numpy()[keep],
                           minlength=len(days)).astype(float)

    summed = sum(per_day(name) for name in (target.columns or FIXED_COLUMNS[target.metric]))
    scale = full_population / s.population.size
    if target.metric in RUNNING:
        values = np.cumsum(summed) * scale
    elif target.metric == "share_on":
        population = per_day("population")
        values = np.divide(summed, population, out=np.full(len(days), np.nan),
                           where=population > 0)
    else:
        values = summed * scale
    return Trajectory([date_of(s, int(d)) for d in days], values)


# --- fitted against predicted: the checks, and the naive baseline a prediction must beat ---


def fit_end(targets: list[CalibrationTarget], part: str | None = None) -> datetime.date | None:
    """The date of the latest fitted figure on a date of one part of the calibration (None:
    the part has no fitted figure with a date)."""
    dates = [t.on for t in targets if t.role == "fitted" and t.on is not None and t.part == part]
    return max(dates) if dates else None


def prediction_problems(s: Scenario) -> list[tuple[str, str]]:
    """(field, reason) for each way the scenario's predictions could rest on what they
    predict: a predicted figure dated before the last fitted one of its part (it falls
    inside the fit's years), or an input whose ``[sources]`` year is after its part's fit's
    end.  Parts (``CalibrationTarget.part``) are fitted apart and checked apart."""
    if s.calibration is None:
        return []
    targets = s.calibration.targets
    problems = []
    for part in dict.fromkeys(t.part for t in targets):
        end = fit_end(targets, part)
        if end is None or not any(t.role == "predicted" and t.part == part for t in targets):
            continue
        named = "" if part is None else f" of part {part!r}"
        for k, t in enumerate(targets):
            if t.part == part and t.role == "predicted" and t.on is not None and t.on < end:
                problems.append((f"calibration.targets[{k}].on", (
                    f"a predicted figure on {t.on} is dated before the last fitted one{named} "
                    f"({end}): the fit has seen its years; fit it, or predict a later figure")))
        for path, source in s.sources.items():
            if source.part == part and source.year is not None and source.year > end.year:
                problems.append((f"sources.{path}.year", (
                    f"the value rests on a figure of {source.year}, after the fit's end{named} "
                    f"({end}): its predictions would use what they predict; derive it from "
                    "earlier years")))
    return problems


def _series(t: CalibrationTarget) -> tuple:
    window = None if t.from_ is None or t.on is None else (t.on - t.from_).days
    return (t.metric, tuple(t.columns), t.group, window, t.part)


def naive_baseline(targets: list[CalibrationTarget]) -> list[float | None]:
    """For each predicted figure on a date, the naive forecast it must beat: the log-linear
    line through the last two fitted figures of the same series (metric, columns, group and
    window length), extrapolated to its date; None for a fitted figure or where the series
    has fewer than two fitted dates.

    The last two, not a least-squares line through all: a list that grew forty-fold in its
    first years would give all of them a slope no forecaster would extend, and a baseline
    that is easy to beat tests nothing.  The trend where the fit ends is the strongest
    two-number forecast the fitted figures allow."""
    out: list[float | None] = []
    for t in targets:
        value = None
        if t.role == "predicted" and t.on is not None:
            fitted = sorted((f for f in targets if f.role == "fitted" and f.on is not None
                             and _series(f) == _series(t)), key=lambda f: f.on)
            if len({f.on for f in fitted}) >= 2:
                last = fitted[-1]
                before = next(f for f in reversed(fitted) if f.on < last.on)
                slope = (np.log(last.published / before.published)
                         / (last.on - before.on).days)
                value = float(last.published * np.exp(slope * (t.on - last.on).days))
        out.append(value)
    return out


@dataclass(frozen=True)
class Skill:
    """How far the predictions miss, against the naive baseline on the same figures."""

    predictions: int
    """Predicted figures with both a simulated value and a naive forecast."""
    model_error: float | None
    """Mean absolute log error of the run's predictions (None: no prediction compared)."""
    naive_error: float | None
    """... of the naive baseline's on the same figures."""

    @property
    def improvement(self) -> float | None:
        """1 - model / naive: the share of the naive error the model removes."""
        if self.model_error is None or not self.naive_error:
            return None
        return 1.0 - self.model_error / self.naive_error


def skill(comparisons: list[Comparison], baseline: list[float | None]) -> Skill:
    pairs = [(c, naive) for c, naive in zip(comparisons, baseline, strict=True)
             if c.target.role == "predicted" and naive is not None and c.simulated]
    if not pairs:
        return Skill(0, None, None)
    model = [abs(np.log(c.ratio)) for c, _ in pairs]
    naive = [abs(np.log(n / c.target.published)) for c, n in pairs]
    return Skill(len(pairs), float(np.mean(model)), float(np.mean(naive)))
