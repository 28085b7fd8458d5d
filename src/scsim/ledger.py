"""The run-level harm-and-benefit ledger: totals, rates per group with intervals, disparity.

The kernel sums, per group, each per-citizen ledger quantity and its square
(see ``scsim.kernels.neighbourhood``, ``Q_*``).  From those two sums this
module derives, for each group, the rate per 100,000 citizens of the group and
a 95% confidence interval:

* quantities that are 0 or 1 per citizen (ever sanctioned, wrongly
  sanctioned) use the Wilson score interval for a proportion, which stays in
  [0, 1];
* counts that cannot be negative (levels: days blacklisted, false records,
  blocked posts, and in an unpaired run trips, yuan and admissions) use the
  exact Poisson (Garwood) interval of the total, widened by the
  overdispersion the exact sums of squares show (quasi-Poisson: the total
  divided by the dispersion phi = variance / mean, phi >= 1, is treated as a
  Poisson count); it never goes below 0, and with no event at all it is
  [0, 3.69 events] in the group;
* paired differences (offences prevented, speech lost, trips, yuan and
  admissions against a counterfactual) can be negative, and use the normal
  interval of a mean from the exact sums of squares; but a paired difference
  of a quantity whose mechanism the counterfactual lacks (trips denied against
  'none') is each citizen's own count, never negative, and takes the count's
  interval above, so that no interval leaves its quantity's range.

Disparity ratios (each group's rate over the reference group's) carry a 95%
interval from the delta method on the log scale, and a ratio resting on
fewer than ``MIN_EVENTS`` events in either group says so in its status.

The intervals describe the sampling noise of a synthetic population of this
size under the scenario's model, not uncertainty about the model itself.

Rates are never shown as 0 when they are not measured: a group with no
citizens has an *undefined* rate, a group under ``SMALL_GROUP`` citizens is
flagged, and counterfactual quantities of an unpaired run are *not measured*.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from scsim.quantities import MEASURES, Quantity

if TYPE_CHECKING:
    from scsim.engine.sim import SimulationResult
    from scsim.scenario.model import Scenario

LEDGER_FORMAT = 1
PER = 100_000
Z95 = 1.959963984540054  # two-sided 95% normal quantile
CONFIDENCE = 0.95
POISSON_ZERO_UPPER95 = -math.log(0.025)  # two-sided 95% Garwood upper bound when 0 events are seen
SMALL_GROUP = 100
"""Groups with fewer citizens than this are flagged: their intervals are too wide to read."""
MIN_EVENTS = 10
"""A disparity ratio resting on fewer events than this in either group is flagged."""

OK = "ok"
SMALL = f"small group (fewer than {SMALL_GROUP} citizens): rate shown, but unreliable"
NO_CITIZENS = "undefined: the group has no citizens"
NOT_MEASURED = "not measured: needs a counterfactual (scsim run --counterfactual none|FILE)"
TOO_FEW = (f"too few events (fewer than {MIN_EVENTS} in a group): ratio shown, but "
           "unreliable")



CORE: tuple[Quantity, ...] = (
    Quantity("sanctioned", True, "harm", "citizens", False,
             "citizens blacklisted at least once during the run"),
    Quantity("wrongly_sanctioned", True, "harm", "citizens", True,
             "citizens blacklisted on some day on which the same citizen, with the same draws "
             "but without false records, is not"),
    Quantity("behaviours_prevented", False, "benefit", "offences", True,
             "offences committed in the counterfactual but not in the run (deterrence)",
             relative=True, daily=("behaviours_prevented",)),
    Quantity("speech_lost", False, "harm", "posts", True,
             "speech published in the counterfactual but not in the run (chilled or blocked)",
             relative=True, daily=("speech_lost",)),
    Quantity("speech_chilled", False, "harm", "posts", True,
             "speech not even attempted in the run that is in the counterfactual "
             "(self-censorship)", relative=True),
    Quantity("speech_blocked", False, "harm", "posts", False,
             "speech attempted while the account was suspended", daily=("speech_blocked",)),
    Quantity("false_records", False, "harm", "records", False,
             "false records that counted against the citizen", daily=("false_records",)),
    Quantity("days_blacklisted", False, "harm", "days", False,
             "days spent on the blacklist", daily=("blacklisted",)),
    Quantity("days_wrongly_blacklisted", False, "harm", "days",
             True, "days on the blacklist on which the same citizen without false records is "
             "not listed (appeals and expiry shorten them)", daily=("wrongly_blacklisted",)),
    Quantity("counterfactual_sanctioned", True, "harm", "citizens",
             True, "citizens blacklisted at least once in the counterfactual", relative=True,
             of_counterfactual=True),
)


ORDER = ("sanctioned", "wrongly_sanctioned", "behaviours_prevented", "trips_denied",
         "speech_lost", "speech_chilled", "speech_blocked", "income_lost", "children_penalised",
         "false_records", "days_blacklisted", "days_wrongly_blacklisted",
         "counterfactual_sanctioned")
"""The quantities every ledger carries, in order (the core's and those of mechanisms that are
always reported); the quantities of other mechanisms a run uses follow them."""


def known_quantities() -> dict[str, Quantity]:
    """Every quantity by name: the core's and every mechanism module's."""
    from scsim.mechanisms import MECHANISMS

    known = {q.name: q for q in CORE}
    known.update((q.name, q) for m in MECHANISMS for q in m.quantities)
    return known


def quantities(s: Scenario | None = None, counterfactual: Scenario | None = None
               ) -> tuple[Quantity, ...]:
    """The ledger's quantities of a run of ``s`` (paired with ``counterfactual``), in order;
    without a scenario, those every ledger carries."""
    from scsim.mechanisms import reported

    known = known_quantities()
    extra = () if s is None else tuple(
        q for m in reported(s, counterfactual) if not m.always_reported for q in m.quantities)
    return tuple(known[name] for name in ORDER) + extra


SPEECH_QUANTITIES = ("speech_lost", "speech_chilled", "speech_blocked")
FALSE_RECORD_QUANTITIES = ("false_records", "wrongly_sanctioned", "days_wrongly_blacklisted")


def impossible_quantities(s: Scenario, counterfactual: Scenario | None = None
                          ) -> dict[str, str]:
    """The ledger's quantities that a run of ``s`` cannot make other than 0, each with why:
    those of a mechanism every ledger reports but the run lacks (a travel ban's trips denied
    where there is no travel ban), speech where no behaviour is speech, and false records
    where no channel records falsely.  A page shows them as absent, never as a 0 measured."""
    from scsim.mechanisms import BY_NAME, MECHANISMS, in_kernel

    kernel = in_kernel(s, counterfactual)
    why: dict[str, str] = {}
    for m in MECHANISMS:
        if m.always_reported and m not in kernel:
            for q in m.quantities:
                why[q.name] = f"the scenario has no {m.title}"
    if not {b.kind for b in s.behaviours.values()} & {"speech", "lawful"}:
        why |= dict.fromkeys(SPEECH_QUANTITIES, "the scenario has no speech (no behaviour of "
                             "kind speech or lawful)")
    elif BY_NAME["speech_suspension"] not in kernel:
        why["speech_blocked"] = "the scenario suspends no account"
    if not any(c.false_attribution is not None for c in s.channels.values()):
        why |= dict.fromkeys(FALSE_RECORD_QUANTITIES, "no channel records anyone falsely "
                             "(no false_attribution)")
    return why


def quantities_in(ledger: dict) -> tuple[Quantity, ...]:
    """The quantities a ledger document (``ledger.json``) carries, in its order."""
    known = known_quantities()
    return tuple(known[name] for name in ledger["quantities"] if name in known)


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (good near 0 and 1, unlike the normal one)."""
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, free of rounding
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _variance(total: float, sum_squares: float, n: int) -> float:
    """Sample variance of n values from their sum and sum of squares."""
    return max(0.0, (sum_squares - total * total / n) / (n - 1))


def count_interval(total: int, sum_squares: float, n: int) -> tuple[float, float] | None:
    """95% interval for the mean of n non-negative per-citizen counts: quasi-Poisson Garwood.

    The total T over the dispersion phi = max(1, s^2 / mean) is treated as a
    Poisson count; its exact bounds (gamma quantiles) times phi / n bound the
    mean.  Never below 0; None when n < 2.
    """
    if n < 2:
        return None
    from scipy.special import gammaincinv

    mean = total / n
    phi = max(1.0, _variance(total, sum_squares, n) / mean) if total > 0 else 1.0
    events = total / phi
    low = 0.0 if events == 0 else float(gammaincinv(events, (1 - CONFIDENCE) / 2))
    high = float(gammaincinv(events + 1, (1 + CONFIDENCE) / 2))
    return low * phi / n, high * phi / n


def mean_interval(total: int, sum_squares: float, n: int) -> tuple[float, float] | None:
    """95% normal interval for the mean of n per-citizen counts, from their sum and sum of squares.

    None when n < 2 (no variance can be estimated).  Sample variance
    s^2 = (sum x^2 - (sum x)^2 / n) / (n - 1); the mean's standard error is s / sqrt(n).
    """
    if n < 2:
        return None
    if total == 0 and sum_squares == 0:
        return 0.0, POISSON_ZERO_UPPER95 / n
    half = Z95 * math.sqrt(_variance(total, sum_squares, n) / n)
    mean = total / n
    return mean - half, mean + half


def _entry(q: Quantity, total: int, sum_squares: float, n: int, paired: bool) -> dict:
    if q.needs_counterfactual and not paired:
        return {"value": None, "rate_per_100k": None, "ci95_per_100k": None,
                "status": NOT_MEASURED}
    if n == 0:
        return {"value": 0, "rate_per_100k": None, "ci95_per_100k": None, "status": NO_CITIZENS}
    if q.binary:
        interval = wilson_interval(total, n)
    elif q.can_be_negative(paired):
        interval = mean_interval(total, sum_squares, n)
    else:
        interval = count_interval(total, sum_squares, n)
    return {
        "value": total,
        "rate_per_100k": total / n * PER,
        "ci95_per_100k": None if interval is None else [interval[0] * PER, interval[1] * PER],
        "status": OK if n >= SMALL_GROUP else SMALL,
    }


def _ratio(entry: dict, reference: dict, reference_name: str,
           spread: tuple[float, float] | None = None) -> dict:
    """A group's rate over the reference group's, with a 95% interval when ``spread`` gives
    each side's relative standard error of its mean (the log-scale delta method)."""
    if entry["rate_per_100k"] is None:
        return {"ratio": None, "ci95": None, "status": entry["status"]}
    if reference["rate_per_100k"] is None:
        return {"ratio": None, "ci95": None,
                "status": f"undefined: {reference_name}'s rate is undefined"}
    if reference["rate_per_100k"] == 0:
        return {"ratio": None, "ci95": None, "status": f"undefined: {reference_name}'s rate is 0"}
    if reference["rate_per_100k"] < 0 or entry["rate_per_100k"] < 0:
        # a negative rate means the counterfactual has more; a ratio of such would mislead
        return {"ratio": None, "ci95": None, "status": "undefined: a rate is negative (the "
                "counterfactual has more of it than the run)"}
    ratio = entry["rate_per_100k"] / reference["rate_per_100k"]
    ci = None
    if spread is not None and ratio > 0 and math.isfinite(math.hypot(*spread)):
        half = Z95 * math.hypot(*spread)
        ci = [ratio * math.exp(-half), ratio * math.exp(half)]
    elif ratio == 0 and entry["ci95_per_100k"]:
        # no event in the group: from 0 to its rate's upper bound over the reference rate
        ci = [0.0, entry["ci95_per_100k"][1] / reference["rate_per_100k"]]
    if min(entry["value"], reference["value"]) < MIN_EVENTS:
        status = TOO_FEW
    else:
        status = OK if entry["status"] == OK and reference["status"] == OK else SMALL
    return {"ratio": ratio, "ci95": ci, "status": status}


def _relative_se(total: int, sum_squares: float, n: int) -> float:
    """Standard error of a group's mean over the mean (inf when it cannot be estimated)."""
    if n < 2 or total == 0:
        return math.inf
    return math.sqrt(_variance(total, sum_squares, n) / n) / abs(total / n)


def _with_ranges(listed: tuple[Quantity, ...], counterfactual: Scenario | None
                 ) -> tuple[Quantity, ...]:
    """The quantities, each paired difference whose mechanism the counterfactual lacks
    marked ``never_negative`` (so its interval stays at or above 0, as the figure does)."""
    if counterfactual is None:
        return listed
    from scsim.mechanisms import MECHANISMS

    producer = {q.name: m for m in MECHANISMS for q in m.quantities}
    return tuple(
        dataclasses.replace(q, never_negative=True)
        if q.relative and not q.of_counterfactual and q.name in producer
        and not producer[q.name].active(counterfactual) else q
        for q in listed)


def build_ledger(result: SimulationResult, counterfactual_label: str | None) -> dict:
    """The ledger document written to ``ledger.json``.

    ``counterfactual_label`` names the counterfactual ('none' for no system,
    or the scenario file); None for an unpaired run.
    """
    from scsim.results import stock_and_flows

    s = result.scenario
    paired = result.counterfactual is not None
    groups = [g.name for g in s.population.groups]
    citizens = [int(x) for x in result.population]
    listed = _with_ranges(quantities(s, result.counterfactual), result.counterfactual)
    columns = [result.kernel_layout.quantity(q.name) for q in listed]
    zeros = np.zeros(len(groups))
    sums = {q.name: (result.ledger_sum[:, k] if k is not None else zeros.astype(np.int64))
            for q, k in zip(listed, columns, strict=True)}
    squares = {q.name: (result.ledger_sum_squares[:, k] if k is not None else zeros)
               for q, k in zip(listed, columns, strict=True)}
    reference = groups[0]
    by_group, disparity = _by_axis(groups, sums, squares, citizens, listed, paired)
    n_all = sum(citizens)
    overall = {
        q.name: _entry(q, int(sums[q.name].sum()), float(squares[q.name].sum()), n_all, paired)
        for q in listed
    }
    incomes = [c.name for c in s.population.income_levels]
    by_income, income_disparity = _by_axis(incomes, *_cell_sums(result, listed, INCOME_AXIS),
                                           listed, paired)
    regions, region_disparity = by_region(result, listed, paired)
    ages, age_disparity = by_age(result, listed, paired)
    return {
        "format": LEDGER_FORMAT,
        "scenario": s.name,
        "paired": paired,
        "counterfactual": counterfactual_label,
        "counterfactual_scenario": result.counterfactual.name if paired else None,
        "citizens": n_all,
        "days": s.run.days,
        **({"reported_from": s.run.report_from.isoformat(), "reported_days": s.run.reported_days}
           if s.run.report_from is not None else {}),
        "reference_group": reference,
        "rate_unit": "per 100,000 citizens of the group (children included), over the whole run"
                     + (" after its burn-in" if s.run.report_from is not None else ""),
        "confidence": 0.95,
        "small_group_threshold": SMALL_GROUP,
        "min_events_for_ratio": MIN_EVENTS,
        "intervals": {
            "0 or 1 per citizen": "Wilson score interval",
            "count that cannot be negative": "quasi-Poisson exact (Garwood) interval",
            "paired difference": "normal interval of the mean",
            "paired difference that cannot be negative (the counterfactual lacks the "
            "mechanism)": "quasi-Poisson exact (Garwood) interval",
            "disparity ratio": "delta method on the log of the ratio",
        },
        "quantities": {
            q.name: {"side": q.side, "unit": q.unit, "per_citizen": "0 or 1" if q.binary else
                     "count", "needs_counterfactual": q.needs_counterfactual,
                     "measure": q.measure(paired), "can_be_negative": q.can_be_negative(paired),
                     "description": q.description}
            for q in listed
        },
        "measures": {m: MEASURES[m] for m in dict.fromkeys(q.measure(paired)
                                                          for q in listed)},
        "note": (
            "quantities compared with the counterfactual are per-citizen differences under "
            "common random numbers" if paired else
            "unpaired run: trips denied, income lost and children penalised are the run's own "
            "counts (a world without the system causes none); quantities that need a "
            "counterfactual are not measured"
        ),
        "totals": {q.name: overall[q.name]["value"] for q in listed},
        "stock_and_flows": stock_and_flows(result),
        **({"by_year": by_year(result, listed)} if s.run.start is not None else {}),
        "overall": overall,
        "by_group": by_group,
        "disparity": disparity,
        "reference_income_level": incomes[0],
        "by_income": by_income,
        "disparity_by_income": income_disparity,
        "reference_region": s.population.regions[0].name,
        "by_region": regions,
        "disparity_by_region": region_disparity,
        "reference_age_band": AGE_BANDS[0],
        "by_age": ages,
        "disparity_by_age": age_disparity,
        "false_positive_rate": false_positive_rates(result),
        "weighing": weighing(listed, overall, paired, counterfactual_label, n_all),
        **({"by_scheme": by_scheme(result, listed, paired)} if s.pilots else {}),
    }


def count_interval_of(entry: dict, n: int) -> list[float] | None:
    """An overall entry's 95% interval as counts (its rates' interval times n / 100,000)."""
    ci = entry.get("ci95_per_100k")
    return None if ci is None else [ci[0] * n / PER, ci[1] * n / PER]


def _ratio_interval(harm: float, harm_ci: list[float] | None, benefit: float,
                    benefit_ci: list[float] | None) -> list[float] | None:
    """95% interval of harm / benefit on the log scale (delta method), from each total's own
    interval read as 1.96 relative standard errors either side, the two taken as independent:
    harms and benefits of one run tend to rise together, so this is wider than the truth."""
    if harm <= 0 or benefit <= 0 or harm_ci is None or benefit_ci is None:
        return None
    spread = [(hi - lo) / (2 * Z95 * value) for (lo, hi), value in
              ((harm_ci, harm), (benefit_ci, benefit))]
    half = Z95 * math.hypot(*spread)
    if not math.isfinite(half):
        return None
    ratio = harm / benefit
    return [ratio * math.exp(-half), ratio * math.exp(half)]


def weighing(listed: tuple[Quantity, ...], overall: dict, paired: bool,
             counterfactual_label: str | None, n: int) -> dict:
    """Each benefit beside what it costs: every harm the run measured, per unit of each
    benefit measured (a ratio of totals, with an interval), with what the benefit is counted
    against.

    The benefits and the harms come from the same system, so each harm is a cost of every
    benefit; the reader weighs them.  Against ``none`` (or unpaired) every figure is what the
    system does; against another scenario a paired difference is a change and a level is
    the run's own, so only figures of the same measure are divided.  A benefit whose 95%
    interval holds 0 is not known to be one: nothing is divided by it.  A benefit of fewer
    than ``MIN_EVENTS`` events is flagged.  ``n``: the citizens the rates are of."""
    whole_system = not paired or counterfactual_label == "none"
    benefits = {}
    known = {}  # benefit -> above 0, its interval too: what a harm may be divided by
    for q in listed:
        if q.side != "benefit" or overall[q.name]["value"] is None:
            continue
        value = overall[q.name]["value"]
        if q.against:
            against = q.against
        elif q.relative and paired:
            against = (f"the same citizens with the same draws under the counterfactual "
                       f"{counterfactual_label!r}")
        else:
            against = "nothing: a count of the run's own"
        interval = count_interval_of(overall[q.name], n)
        holds_zero = value > 0 and interval is not None and interval[0] <= 0
        known[q.name] = value > 0 and not holds_zero
        benefits[q.name] = {
            "value": value, "ci95": interval, "unit": q.unit, "measure": q.measure(paired),
            "against": against,
            "status": ("no benefit (0 or less): nothing to weigh" if value <= 0 else
                       "its 95% interval holds 0: not known to be a benefit, so nothing is "
                       "divided by it" if holds_zero else
                       OK if value >= MIN_EVENTS else
                       f"fewer than {MIN_EVENTS} events: the ratios are unreliable"),
        }
    harms = {}
    for q in listed:
        entry = overall[q.name]
        if q.side != "harm" or q.of_counterfactual or entry["value"] is None:
            continue
        measure = q.measure(paired)
        comparable = {b: whole_system or v["measure"] == measure for b, v in benefits.items()}
        divided = {b: known[b] and comparable[b] for b in benefits}
        harm_ci = count_interval_of(entry, n)
        harms[q.name] = {
            "value": entry["value"], "unit": q.unit, "measure": measure,
            "per_unit_of": {b: (entry["value"] / v["value"] if divided[b] else None)
                            for b, v in benefits.items()},
            "per_unit_of_ci95": {b: (_ratio_interval(entry["value"], harm_ci, v["value"],
                                                     v["ci95"]) if divided[b] else None)
                                 for b, v in benefits.items()},
            "not_comparable": [b for b, ok in comparable.items() if not ok],
        }
    return {
        "note": "each harm's total divided by each benefit's total (ratios of totals), with a "
                "95% interval from the two totals' own intervals taken as independent (wider "
                "than the truth where harm and benefit rise together); a benefit whose "
                "interval holds 0 divides nothing; all come from the same run of the same "
                "system"
                + ("" if whole_system else
                   "; against a counterfactual other than none, a paired difference (a change) "
                   "is divided only by a paired difference and a level only by a level"),
        "benefits": benefits,
        "harms": harms,
    }


CLASS_REGION_AXIS, AGE_AXIS, INCOME_AXIS = 0, 1, 2
"""Axes of the kernel's ledger cells (class region, age band on day 0, income level, group):
a class region is a region, or a pilot's part of one (``engine.tables.class_regions``)."""
AGE_BANDS = ("adult", "elder", "child")
"""The age bands of the cells, in the kernel's order (``engine.tables``: ADULT, ELDER, CHILD)."""


def _collapse(values: np.ndarray, axis: int, category: np.ndarray | None,
              n: int) -> np.ndarray:
    """``values`` (cells, then columns) summed over every cell axis but ``axis``, whose
    entries are then added into ``n`` categories by ``category`` (None: one each)."""
    others = tuple(a for a in range(4) if a != axis)
    per = values.sum(axis=others)
    if category is None:
        return per
    out = np.zeros((n, *per.shape[1:]), dtype=per.dtype)
    np.add.at(out, category, per)
    return out


def _cell_sums(result: SimulationResult, listed: tuple[Quantity, ...], axis: int,
               category: np.ndarray | None = None,
               n: int = 0) -> tuple[dict, dict, list[int]]:
    """Per category of one axis of the cells, summed over the others: each quantity's sums
    and sums of squares, and the citizens (the class regions added into their scheme or
    region by ``category``)."""
    citizens = [int(x) for x in _collapse(result.cells[..., 0], axis, category, n)]
    sums = _collapse(result.cell_sum, axis, category, n)
    squares = _collapse(result.cell_sum_squares, axis, category, n)
    out_sums, out_squares = {}, {}
    for q in listed:
        column = result.kernel_layout.quantity(q.name)
        out_sums[q.name] = (sums[:, column] if column is not None
                            else np.zeros(len(citizens), dtype=np.int64))
        out_squares[q.name] = (squares[:, column] if column is not None
                               else np.zeros(len(citizens)))
    return out_sums, out_squares, citizens


def _schemes_of_class_regions(result: SimulationResult) -> np.ndarray:
    return np.array([scheme for _, scheme in result.plan.class_regions], dtype=np.int64)


def _regions_of_class_regions(result: SimulationResult) -> np.ndarray:
    names = [r.name for r in result.scenario.population.regions]
    return np.array([names.index(region) for region, _ in result.plan.class_regions],
                    dtype=np.int64)


def by_region(result: SimulationResult, listed: tuple[Quantity, ...],
              paired: bool) -> tuple[dict, dict]:
    """Each region's entries (a pilot's citizens counted in their region), ratios to the
    first region."""
    s = result.scenario
    names = [r.name for r in s.population.regions]
    return _by_axis(names, *_cell_sums(result, listed, CLASS_REGION_AXIS,
                                       _regions_of_class_regions(result), len(names)),
                    listed, paired)


def by_age(result: SimulationResult, listed: tuple[Quantity, ...],
           paired: bool) -> tuple[dict, dict]:
    """Each age band on day 0 that has citizens (adults first: the reference)."""
    sums, squares, citizens = _cell_sums(result, listed, AGE_AXIS)
    present = [k for k in range(len(AGE_BANDS)) if citizens[k] > 0 or k == 0]
    return _by_axis([AGE_BANDS[k] for k in present],
                    {q: v[present] for q, v in sums.items()},
                    {q: v[present] for q, v in squares.items()},
                    [citizens[k] for k in present], listed, paired)


FALSE_POSITIVE_NOTE = (
    "false records per scored citizen-year, by group: a false record is by construction of "
    "an event the citizen did not commit, so every scored citizen-year is exposed to it; "
    "citizen-years are the daily counts of scored citizens summed over the reported days, "
    "over 365; the interval is the quasi-Poisson Garwood interval of the false records")


def false_positive_rates(result: SimulationResult) -> dict:
    """Per group: false records per scored citizen-year, with its 95% interval."""
    from scsim.kernels.layout import LEVEL_SCORED

    s = result.scenario
    column = result.kernel_layout.quantity("false_records")
    first = max(s.run.first_reported_day, 1)  # (nothing is recorded on day 0)
    if s.population.turnover is not None:
        scored_days = result.levels[first:, :len(s.population.groups), LEVEL_SCORED].sum(axis=0)
    else:
        scored_days = result.scored * (s.run.days - first + 1)
    out: dict = {"note": FALSE_POSITIVE_NOTE, "unit": "false records per citizen-year",
                 "groups": {}}
    for g, group in enumerate(s.population.groups):
        records = int(result.ledger_sum[g, column])
        years = float(scored_days[g]) / 365.0
        if years == 0:
            out["groups"][group.name] = {"false_records": records, "citizen_years": 0.0,
                                         "rate": None, "ci95": None, "status": NO_CITIZENS}
            continue
        n = int(result.population[g])
        interval = count_interval(records, float(result.ledger_sum_squares[g, column]), n)
        out["groups"][group.name] = {
            "false_records": records, "citizen_years": years, "rate": records / years,
            "ci95": None if interval is None else [interval[0] * n / years,
                                                   interval[1] * n / years],
            "status": OK if records >= MIN_EVENTS else TOO_FEW,
        }
    return out


def _by_axis(names: list[str], sums: dict, squares: dict, citizens: list[int],
             listed: tuple[Quantity, ...], paired: bool) -> tuple[dict, dict]:
    """Per category of one axis (groups, income levels): each quantity's entry, and each
    category's ratio to the first (the reference)."""
    reference = names[0]
    by = {
        name: {
            "citizens": citizens[k],
            "small_group": citizens[k] < SMALL_GROUP,
            "quantities": {
                q.name: _entry(q, int(sums[q.name][k]), float(squares[q.name][k]), citizens[k],
                               paired)
                for q in listed
            },
        }
        for k, name in enumerate(names)
    }

    def spread(k: int, q: Quantity) -> tuple[float, float]:
        if k == 0:
            return 0.0, 0.0  # the reference over itself is exactly 1
        return tuple(_relative_se(int(sums[q.name][j]), float(squares[q.name][j]), citizens[j])
                     for j in (k, 0))

    disparity = {
        q.name: {
            name: _ratio(by[name]["quantities"][q.name], by[reference]["quantities"][q.name],
                         reference, spread(k, q))
            for k, name in enumerate(names)
        }
        for q in listed
    }
    return by, disparity


def by_scheme(result: SimulationResult, listed: tuple[Quantity, ...], paired: bool) -> dict:
    """Each scheme's citizens (the national one's and each pilot's): how many, their final
    scores and grades, and every quantity (the schemes' totals add up to the overall)."""
    s = result.scenario
    end = result.run.levels[-1].sum(axis=0)  # the last day's levels, all groups together
    grade_index = {g.name: k for k, g in enumerate(s.all_grades())}
    names = s.scheme_names()
    scheme_of = _schemes_of_class_regions(result)
    out, _ = _by_axis(names, *_cell_sums(result, listed, CLASS_REGION_AXIS, scheme_of,
                                         len(names)), listed, paired)
    cells = _collapse(result.cells, CLASS_REGION_AXIS, scheme_of, len(names))
    for k, (name, scale) in enumerate(zip(names, s.scales(), strict=True)):
        _, scored, score_sum = (int(x) for x in cells[k])
        entry = out[name]
        entry["scored"] = scored
        if k > 0:
            entry["region"] = s.pilots[name].region
            entry["share_of_region"] = s.pilots[name].share_of_region
        entry["mean_final_score"] = score_sum / scored if scored else None
        entry["scale"] = [scale.min_score, scale.max_score]
        entry["grades_at_end"] = {
            g.name: int(end[result.kernel_layout.first_grade + grade_index[g.name]])
            for g in scale.grades}
    return out



BY_YEAR_NOTE = ("per calendar year: the totals of the quantities that are sums of daily "
                "counts (days, records, trips, yuan, posts); counts of citizens (sanctioned, "
                "wrongly sanctioned) are whole-run only, since a citizen may count in several "
                "years; a year the run covers in part has only its days")


def by_year(result: SimulationResult, listed: tuple[Quantity, ...]) -> dict:
    """Each calendar year's totals of the quantities that are sums of daily counts."""
    from scsim.results import daily_table

    table = daily_table(result)
    names = set(table.column_names)
    years = np.array([d.year for d in table.column("date").to_pylist()])
    columns = {name: table.column(name).to_numpy() for name in names
               if any(name == c.lstrip("-") for q in listed for c in q.daily)}
    paired = result.counterfactual is not None
    out: dict = {"note": BY_YEAR_NOTE, "years": {}}
    groups = len(result.scenario.population.groups)
    for year in sorted(set(years.tolist())):
        rows = years == year
        totals = {}
        for q in listed:
            if q.daily and not (q.needs_counterfactual and not paired):
                totals[q.name] = q.daily_total(columns, rows)
        out["years"][str(year)] = {"days": int(rows.sum()) // groups, "totals": totals}
    return out
