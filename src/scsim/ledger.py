"""The run-level harm-and-benefit ledger: totals, rates per group with intervals, disparity.

The kernel sums, per group, each per-citizen ledger quantity and its square
(see ``scsim.kernels.neighbourhood``, ``Q_*``).  From those two sums this
module derives, for each group, the rate per 100,000 citizens of the group and
a 95% confidence interval:

* quantities that are 0 or 1 per citizen (ever sanctioned, wrongly
  sanctioned) use the Wilson score interval for a proportion;
* counts per citizen (trips denied, speech lost, yuan lost, ...) use the
  normal interval of a mean, with the sample variance taken from the exact
  sums of squares; when every citizen's value is 0 the upper bound is the
  Poisson 95% bound on a total of zero events (-ln 0.05 = 3.0 events in the
  group), since a zero-width interval would claim certainty the run lacks.

The intervals describe the sampling noise of a synthetic population of this
size under the scenario's model, not uncertainty about the model itself.

Rates are never shown as 0 when they are not measured: a group with no
citizens has an *undefined* rate, a group under ``SMALL_GROUP`` citizens is
flagged, and counterfactual quantities of an unpaired run are *not measured*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scsim.kernels.layout import (
    Q_BEHAVIOURS_PREVENTED,
    Q_CHILDREN_PENALISED,
    Q_COUNTERFACTUAL_SANCTIONED,
    Q_DAYS_BLACKLISTED,
    Q_DAYS_WRONGLY_BLACKLISTED,
    Q_FALSE_RECORDS,
    Q_INCOME_LOST,
    Q_SANCTIONED,
    Q_SPEECH_BLOCKED,
    Q_SPEECH_CHILLED,
    Q_SPEECH_LOST,
    Q_TRIPS_DENIED,
    Q_WRONGLY_SANCTIONED,
)

if TYPE_CHECKING:
    from scsim.engine.sim import SimulationResult

LEDGER_FORMAT = 1
PER = 100_000
Z95 = 1.959963984540054  # two-sided 95% normal quantile
POISSON_ZERO_UPPER95 = -math.log(0.05)  # 95% upper bound on a Poisson mean when 0 events are seen
SMALL_GROUP = 100
"""Groups with fewer citizens than this are flagged: their intervals are too wide to read."""

OK = "ok"
SMALL = f"small group (fewer than {SMALL_GROUP} citizens): rate shown, but unreliable"
NO_CITIZENS = "undefined: the group has no citizens"
NOT_MEASURED = "not measured: needs a counterfactual (scsim run --counterfactual none|FILE)"


@dataclass(frozen=True)
class Quantity:
    """One line of the ledger."""

    name: str
    index: int
    """Column of the kernel's ledger (``Q_*``)."""
    binary: bool
    """Each citizen contributes 0 or 1 (a count of citizens), else a count of events."""
    side: str
    """'harm' or 'benefit' (the system's claimed effect)."""
    unit: str
    needs_counterfactual: bool
    description: str
    relative: bool = False
    """Measured against the counterfactual when paired (so runs paired with different
    counterfactuals cannot be compared on it)."""
    of_counterfactual: bool = False
    """A level of the counterfactual itself, not of the run."""

    def measure(self, paired: bool) -> str:
        """What a figure of this quantity is: a level or a paired difference (see MEASURES)."""
        if not paired:
            return LEVEL
        if self.of_counterfactual:
            return COUNTERFACTUAL_LEVEL
        if self.relative:
            return PAIRED_DIFFERENCE
        return PAIRED_COMPARISON if self.needs_counterfactual else LEVEL


LEVEL = "level"
PAIRED_DIFFERENCE = "paired difference"
PAIRED_COMPARISON = "paired comparison"
COUNTERFACTUAL_LEVEL = "counterfactual level"
MEASURES = {
    LEVEL: "a level: the run's own count",
    PAIRED_DIFFERENCE: "a paired difference: per citizen, the run minus the counterfactual "
                       "(or the counterfactual minus the run, for what the system prevents), "
                       "under common random numbers, summed",
    PAIRED_COMPARISON: "a paired comparison: citizens (or days) on which the run differs from "
                       "the same citizen with the same draws but without false records",
    COUNTERFACTUAL_LEVEL: "a level of the counterfactual, for reference",
}
"""What each kind of ledger figure is, in words (written into ledger.json)."""


QUANTITIES: tuple[Quantity, ...] = (
    Quantity("sanctioned", Q_SANCTIONED, True, "harm", "citizens", False,
             "citizens blacklisted at least once during the run"),
    Quantity("wrongly_sanctioned", Q_WRONGLY_SANCTIONED, True, "harm", "citizens", True,
             "citizens blacklisted on some day on which the same citizen, with the same draws "
             "but without false records, is not"),
    Quantity("behaviours_prevented", Q_BEHAVIOURS_PREVENTED, False, "benefit", "offences", True,
             "offences committed in the counterfactual but not in the run (deterrence)",
             relative=True),
    Quantity("trips_denied", Q_TRIPS_DENIED, False, "harm", "trips", False,
             "plane and high-speed-rail trips denied, beyond the counterfactual's", relative=True),
    Quantity("speech_lost", Q_SPEECH_LOST, False, "harm", "posts", True,
             "speech published in the counterfactual but not in the run (chilled or blocked)",
             relative=True),
    Quantity("speech_chilled", Q_SPEECH_CHILLED, False, "harm", "posts", True,
             "speech not even attempted in the run that is in the counterfactual "
             "(self-censorship)", relative=True),
    Quantity("speech_blocked", Q_SPEECH_BLOCKED, False, "harm", "posts", False,
             "speech attempted while the account was suspended"),
    Quantity("income_lost", Q_INCOME_LOST, False, "harm", "yuan", False,
             "income lost to the employment penalty while blacklisted, beyond the "
             "counterfactual's", relative=True),
    Quantity("children_penalised", Q_CHILDREN_PENALISED, False, "harm", "admissions", False,
             "school admissions refused because of a parent's grade, beyond the "
             "counterfactual's", relative=True),
    Quantity("false_records", Q_FALSE_RECORDS, False, "harm", "records", False,
             "false records that counted against the citizen"),
    Quantity("days_blacklisted", Q_DAYS_BLACKLISTED, False, "harm", "days", False,
             "days spent on the blacklist"),
    Quantity("days_wrongly_blacklisted", Q_DAYS_WRONGLY_BLACKLISTED, False, "harm", "days",
             True, "days on the blacklist on which the same citizen without false records is "
             "not listed (appeals and expiry shorten them)"),
    Quantity("counterfactual_sanctioned", Q_COUNTERFACTUAL_SANCTIONED, True, "harm", "citizens",
             True, "citizens blacklisted at least once in the counterfactual", relative=True,
             of_counterfactual=True),
)


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (good near 0 and 1, unlike the normal one)."""
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, free of rounding
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def mean_interval(total: int, sum_squares: float, n: int) -> tuple[float, float] | None:
    """95% normal interval for the mean of n per-citizen counts, from their sum and sum of squares.

    None when n < 2 (no variance can be estimated).  Sample variance
    s^2 = (sum x^2 - (sum x)^2 / n) / (n - 1); the mean's standard error is s / sqrt(n).
    """
    if n < 2:
        return None
    if total == 0 and sum_squares == 0:
        return 0.0, POISSON_ZERO_UPPER95 / n
    variance = max(0.0, (sum_squares - total * total / n) / (n - 1))
    half = Z95 * math.sqrt(variance / n)
    mean = total / n
    return mean - half, mean + half


def _entry(q: Quantity, total: int, sum_squares: float, n: int, paired: bool) -> dict:
    if q.needs_counterfactual and not paired:
        return {"value": None, "rate_per_100k": None, "ci95_per_100k": None,
                "status": NOT_MEASURED}
    if n == 0:
        return {"value": 0, "rate_per_100k": None, "ci95_per_100k": None, "status": NO_CITIZENS}
    interval = wilson_interval(total, n) if q.binary else mean_interval(total, sum_squares, n)
    return {
        "value": total,
        "rate_per_100k": total / n * PER,
        "ci95_per_100k": None if interval is None else [interval[0] * PER, interval[1] * PER],
        "status": OK if n >= SMALL_GROUP else SMALL,
    }


def _ratio(entry: dict, reference: dict, reference_name: str) -> dict:
    if entry["rate_per_100k"] is None:
        return {"ratio": None, "status": entry["status"]}
    if reference["rate_per_100k"] is None:
        return {"ratio": None, "status": f"undefined: {reference_name}'s rate is undefined"}
    if reference["rate_per_100k"] == 0:
        return {"ratio": None, "status": f"undefined: {reference_name}'s rate is 0"}
    if reference["rate_per_100k"] < 0 or entry["rate_per_100k"] < 0:
        # a negative rate means the counterfactual has more; a ratio of such would mislead
        return {"ratio": None, "status": "undefined: a rate is negative (the counterfactual "
                "has more of it than the run)"}
    status = OK if entry["status"] == OK and reference["status"] == OK else SMALL
    return {"ratio": entry["rate_per_100k"] / reference["rate_per_100k"], "status": status}


def build_ledger(result: SimulationResult, counterfactual_label: str | None) -> dict:
    """The ledger document written to ``ledger.json``.

    ``counterfactual_label`` names the counterfactual ('none' for no system,
    or the scenario file); None for an unpaired run.
    """
    s = result.scenario
    paired = result.counterfactual is not None
    groups = [g.name for g in s.population.groups]
    citizens = [int(x) for x in result.population]
    sums = result.ledger_sum
    squares = result.ledger_sum_squares
    reference = groups[0]

    by_group = {}
    for g, name in enumerate(groups):
        by_group[name] = {
            "citizens": citizens[g],
            "small_group": citizens[g] < SMALL_GROUP,
            "quantities": {
                q.name: _entry(q, int(sums[g, q.index]), float(squares[g, q.index]), citizens[g],
                               paired)
                for q in QUANTITIES
            },
        }
    n_all = sum(citizens)
    overall = {
        q.name: _entry(q, int(sums[:, q.index].sum()), float(squares[:, q.index].sum()), n_all,
                       paired)
        for q in QUANTITIES
    }
    disparity = {
        q.name: {
            name: _ratio(by_group[name]["quantities"][q.name],
                         by_group[reference]["quantities"][q.name], reference)
            for name in groups
        }
        for q in QUANTITIES
    }
    return {
        "format": LEDGER_FORMAT,
        "scenario": s.name,
        "paired": paired,
        "counterfactual": counterfactual_label,
        "counterfactual_scenario": result.counterfactual.name if paired else None,
        "citizens": n_all,
        "days": s.run.days,
        "reference_group": reference,
        "rate_unit": "per 100,000 citizens of the group (children included), over the whole run",
        "confidence": 0.95,
        "small_group_threshold": SMALL_GROUP,
        "quantities": {
            q.name: {"side": q.side, "unit": q.unit, "per_citizen": "0 or 1" if q.binary else
                     "count", "needs_counterfactual": q.needs_counterfactual,
                     "measure": q.measure(paired), "description": q.description}
            for q in QUANTITIES
        },
        "measures": {m: MEASURES[m] for m in dict.fromkeys(q.measure(paired)
                                                          for q in QUANTITIES)},
        "note": (
            "quantities compared with the counterfactual are per-citizen differences under "
            "common random numbers" if paired else
            "unpaired run: trips denied, income lost and children penalised are the run's own "
            "counts (a world without the system causes none); quantities that need a "
            "counterfactual are not measured"
        ),
        "totals": {q.name: overall[q.name]["value"] for q in QUANTITIES},
        "overall": overall,
        "by_group": by_group,
        "disparity": disparity,
    }

