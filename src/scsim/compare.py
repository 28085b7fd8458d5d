"""Ledgers of several runs side by side, with signed differences from the first run.

When the runs describe the same world (population, behaviours, horizon, seed)
and the same citizen ids, every citizen met the same random draws in each, so
a difference of totals is the exact sum of per-citizen paired differences:
it is the policy's effect on these citizens, not sampling noise.  Otherwise
differences include noise, and the rates' intervals should be compared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from scsim.io.stored_run import StoredRun
from scsim.ledger import quantities_in
from scsim.scenario.pairing import world_differences
from scsim.scenario.schedule import dates_of


@dataclass(frozen=True)
class Row:
    quantity: str
    side: str
    totals: list[int | None]
    """One per run; None where the run did not measure the quantity."""
    comparable: list[bool]
    """Per run: measured against the same baseline as the first run's."""
    measures: list[str]
    """Per run: what its total is (a level, a paired difference, ...; see scsim.ledger)."""

    @property
    def measure(self) -> str:
        """What the totals are, if the same in every run, else 'mixed'."""
        return self.measures[0] if len(set(self.measures)) == 1 else "mixed"

    def difference(self, k: int) -> int | None:
        """Run k's total minus the first run's (None if not measured or not comparable)."""
        a, b = self.totals[0], self.totals[k]
        return None if a is None or b is None or not self.comparable[k] else b - a


@dataclass(frozen=True)
class Comparison:
    runs: list[StoredRun]
    rows: list[Row]
    common_random_numbers: list[bool]
    """For each run: it shares the first run's world and citizen ids (exact paired differences)."""
    same_baseline: list[bool]
    """For each run: paired with the same counterfactual as the first run."""
    window: tuple | None = None
    """The common dates (or day numbers) of runs over different periods; None when every run
    covers the same days (then totals are whole-run)."""

    @property
    def identical(self) -> bool:
        return all(row.difference(k) in (0, None) for row in self.rows
                   for k in range(1, len(self.runs)))


def shares_draws(a: StoredRun, b: StoredRun) -> bool:
    return not world_differences(a.scenario, b.scenario) and a.first_id == b.first_id


def baseline(run: StoredRun) -> str:
    """What the run's relative quantities are measured against: 'none' or the file's hash.

    An unpaired run's trips denied, income lost and children penalised are its
    own counts, which is what a world without the system would not have: 'none'.
    """
    if not run.paired or run.counterfactual_label == "none":
        return "none"
    return str(run.summary["counterfactual"].get("scenario_sha256"))


def _span(run: StoredRun) -> tuple:
    """(first, last) reported day of a run: dates when it has a start date, else numbers."""
    days = run.daily["day"][:, 0]
    first, last = int(days[0]), int(days[-1])
    start = run.scenario.run.start
    if start is None:
        return first, last
    return (start + dt.timedelta(days=first - 1), start + dt.timedelta(days=last - 1))


def _rows_in(run: StoredRun, window: tuple) -> np.ndarray:
    """Which of the run's daily rows fall in ``window`` (dates or day numbers, inclusive)."""
    days = run.daily["day"][:, 0]
    if isinstance(window[0], dt.date):
        x = dates_of(run.scenario, days)
        lo, hi = np.datetime64(window[0], "D"), np.datetime64(window[1], "D")
    else:
        x, (lo, hi) = days, window
    return (x >= lo) & (x <= hi)


def _total_in(run: StoredRun, q, rows: np.ndarray) -> int | None:
    """A quantity's total over some days, from the daily columns it is the sum of."""
    if not q.daily or run.ledger["totals"].get(q.name) is None:
        return None
    return q.daily_total(run.daily, rows)


def compare_runs(runs: list[StoredRun]) -> Comparison:
    """The runs' ledger totals side by side; runs over different periods are compared on the
    dates (or, without start dates, the day numbers) they have in common, on the quantities
    that are sums of daily counts."""
    same_baseline = [baseline(run) == baseline(runs[0]) for run in runs]
    listed = {q.name: q for run in runs for q in quantities_in(run.ledger)}
    spans = [_span(run) for run in runs]
    window = None
    if len(set(spans)) > 1:
        dated = all(isinstance(s[0], dt.date) for s in spans)
        if not dated:
            spans = [(int(run.daily["day"][0, 0]), int(run.daily["day"][-1, 0])) for run in runs]
        window = (max(s[0] for s in spans), min(s[1] for s in spans))
        if window[0] > window[1]:
            raise ValueError("the runs have no " + ("date" if dated else "day")
                             + " in common: " + "; ".join(f"{r.name} {a} to {b}"
                                                          for r, (a, b) in zip(runs, spans,
                                                                               strict=True)))
    rows = []
    for q in listed.values():
        if window is None:
            totals = [run.ledger["totals"].get(q.name) for run in runs]
        else:
            totals = [_total_in(run, q, _rows_in(run, window)) for run in runs]
        rows.append(Row(q.name, q.side, totals,
                        [same or not q.relative for same in same_baseline],
                        [run.ledger["quantities"].get(q.name, {}).get("measure",
                                                                     "not in this run")
                         for run in runs]))
    return Comparison(runs, rows, [shares_draws(runs[0], run) for run in runs],
                      same_baseline, window)


def pairing_sentence(run: StoredRun) -> str:
    """What a run's totals are measured against, in words."""
    if not run.paired:
        return f"{run.name}: unpaired; every total is a level (the run's own count)"
    return (f"{run.name}: paired with '{run.counterfactual_label}'; paired differences are "
            "per citizen against it, paired comparisons against the same citizens without "
            "false records, levels are the run's own counts")


def relative(difference: int | None, base: int | None, comparable: bool = True) -> str:
    if not comparable:
        return "other baseline"
    if difference is None:
        return "n/a"
    if difference == 0:
        return "0"
    sign = f"{difference:+,}"
    if base:
        return f"{sign} ({difference / base:+.1%})"
    return sign
