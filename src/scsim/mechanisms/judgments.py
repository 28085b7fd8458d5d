"""Judgment debtors: who cannot pay, who pays under the list's pressure, who would anyway.

The court list's own headline benefit is debts paid under its pressure (FACTS
in docs/sources.md section 2.1: 27% of the listed complied; 18.65 M debtors
performed "under pressure" by 2025), and its documented wrong is listing
debtors who were *unable*, not unwilling, to pay (the SPC's own admission in
2026).  Each true record of a listing behaviour is a default by a debtor who
is unable to pay with ``unable_share`` (by the debtor's income level; a draw
keyed by (citizen, DEBTOR, behaviour, day)), else unwilling.

* An unwilling debtor performs the judgment ``delay_days`` after the record with
  ``performance_share`` (one uniform u of stream PERFORM; with a ``response`` section the
  share moves with what the sanctions cost, ``scsim.mechanisms.response``): the record is then
  removed as repaired (the SPC counts these exits as credit repair) and the
  member leaves the list if nothing else holds them there.  The same u tells
  whether they would have paid by then without the list: u < ``anyway_share``
  (at most ``performance_share``: listing does not stop anyone paying), so the
  run itself counts the judgments performed *under pressure*, with no paired
  counterfactual (which, having no list, has no records to remove).  Another
  removal that comes first (credit repair, expiry) takes the record instead.
* An unable debtor never performs; their listing is a wrongful listing of its
  own kind (``wrongly_listed_unable``), beside false matches.  The 2026 safeguard
  of delisting the unable is ``delist_unable_share`` (a court finds the debtor
  unable and removes the record after ``delist_unable_delay_days``; stream
  SCREEN), which a schedule can bring in on a date.
* A listing on a fixed term (the 2017 revision of the SPC's provisions: grounds 2 to 6,
  such as obstructing enforcement or hiding assets, list for two years; ground 1, able
  but refusing, lists until the debt is paid) ends ``fixed_term_days`` after the record,
  an expiry, unless performance or a delisting ends it first: ``fixed_term_share`` of
  judgment records, drawn by (citizen, DEBTOR, TERM + behaviour, day).  It is a dated
  input: a schedule sets the share from the revision's day, and a listing keeps the rule
  of the day it was made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from scsim.mechanisms.base import FLOW, OUT, Flow, Mechanism, Q, class_traits
from scsim.quantities import Quantity
from scsim.scenario.fields import MAX_DAYS, Probability, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        FLAG_LISTS,
        REMOVE_EXPIRE,
        REMOVE_REPAIR,
        S_DEATH,
        TURNOVER,
        _tally,
        uniform,
    )
    from scsim.scenario.model import Scenario

DEBTOR = 18
"""Random-number purpose: is a debtor unable to pay (stream = behaviour), does an unwilling
one perform (PERFORM + behaviour), is an unable one found and delisted (SCREEN + behaviour);
counter = the record's day."""
PERFORM = 4096
SCREEN = 8192
TERM = 12288

# Record flags of this module (above the kernel's FLAG_* and REMOVE_* bits).
UNABLE = 1 << 10
"""The record is a default by a debtor unable to pay."""
PERFORMED = 1 << 11
"""The record's removal is the judgment performed (with REMOVE_REPAIR)."""
ANYWAY = 1 << 12
"""... by a debtor who would have paid by then without the list."""
DELISTED_UNABLE = 1 << 13
"""The record's removal is a court finding the debtor unable to pay."""

PositiveDays = Annotated[int, Field(gt=0, le=MAX_DAYS)]


class Judgments(Strict):
    """Judgment debtors: unable or unwilling to pay, and who performs under the list."""

    behaviours: list[str] = []
    """Listing behaviours whose records are judgments in default (empty: all of
    ``scheme.blacklist_behaviours``)."""
    unable_share: Probability = 0.0
    """Share of defaults by debtors unable (not unwilling) to pay."""
    unable_share_by_income: dict[str, Probability] = {}
    """The share at named income levels (the others: ``unable_share``)."""
    performance_share: Probability = 0.0
    """Share of the unwilling who perform the judgment under the list's pressure ..."""
    delay_days: PositiveDays = 180
    """... this many days after the record, which is then removed."""
    anyway_share: Probability = 0.0
    """Share of the unwilling who would have performed by that day without the list (at
    most ``performance_share``): the within-run counterfactual of the performed."""
    delist_unable_share: Probability = 0.0
    """Share of the unable whom a court finds unable to pay and delists (a safeguard; the
    SPC's 2026 move) ..."""
    delist_unable_delay_days: PositiveDays = 30
    """... this many days after the record."""
    fixed_term_share: Probability = 0.0
    """Share of listings on a fixed term (the 2017 provisions' grounds 2 to 6) ..."""
    fixed_term_days: PositiveDays = 730
    """... which ends this many days after the record, unless paying ends it first."""

    @model_validator(mode="after")
    def _anyway_at_most_performance(self) -> Judgments:
        if self.anyway_share > self.performance_share:
            raise ValueError(
                f"anyway_share {self.anyway_share:g} is above performance_share "
                f"{self.performance_share:g}: a debtor who would have paid without the list "
                "does not stop paying because of it")
        return self


class Params(NamedTuple):
    judgment: np.ndarray
    """(behaviours,) int64 1 if its records are judgments in default."""
    unable: np.ndarray
    """(classes,) share of a class's defaults by debtors unable to pay."""
    performance: np.ndarray
    """(periods, classes) share of the unwilling of a class, defaulting in the period, who
    perform (moved by the sanctions' cost: ``scsim.mechanisms.response``) ..."""
    delay: np.ndarray
    """(periods,) ... after these days."""
    anyway: np.ndarray
    """(periods,) share who would have performed anyway."""
    delist: np.ndarray
    """(periods,) share of the unable delisted ..."""
    delist_delay: np.ndarray
    """(periods,) ... after these days."""
    fixed_term: np.ndarray
    """(periods,) share of the records made in the period that list for a fixed term ..."""
    term_days: np.ndarray
    """(periods,) ... of these days."""


def _judgment_behaviours(s: Scenario) -> list[str]:
    j = s.scheme.judgments
    return list(j.behaviours or s.scheme.blacklist_behaviours) if j is not None else []


def params(s: Scenario, tables) -> Params:
    j = s.scheme.judgments
    judged = set(_judgment_behaviours(s))
    judgment = np.array([b in judged for b in s.behaviours], dtype=np.int64)
    if j is None:
        return Params(judgment, np.zeros(tables.n_classes), np.zeros(tables.n_classes), 1,
                      0.0, 0.0, 1, 0.0, 1)
    incomes = [level.name for level in s.population.income_levels]
    by_level = np.array([j.unable_share_by_income.get(name, j.unable_share) for name in incomes])
    unable = by_level[class_traits(tables)[0]]
    return Params(judgment, unable, performance(s, tables), j.delay_days, j.anyway_share,
                  j.delist_unable_share, j.delist_unable_delay_days, j.fixed_term_share,
                  j.fixed_term_days)


def performance(s: Scenario, tables) -> np.ndarray:
    """(classes,) the share of a class's unwilling debtors who perform: ``anyway_share``, who
    would have paid without the list, plus those the list's pressure moves, in proportion to
    the sanctions' daily cost over the reference raised to ``performance_elasticity`` (at most
    all of them); without a response, ``performance_share`` itself."""
    from scsim.mechanisms.response import cost_ratio

    j, r = s.scheme.judgments, s.response
    if r is None or r.performance_elasticity == 0.0:
        return np.full(tables.n_classes, j.performance_share)
    pressure = (j.performance_share - j.anyway_share) * (
        cost_ratio(s, tables) ** r.performance_elasticity)
    return j.anyway_share + np.minimum(1.0 - j.anyway_share, pressure)


def true_scheduled(P: Params, b, c, k, day, key, due, flags) -> None:
    """A listing may be on a fixed term; an unable debtor may be found and delisted; an
    unwilling one may perform (whichever removal comes first holds)."""
    if P.judgment[b]:
        if (P.fixed_term[k] > 0.0 and uniform(key, DEBTOR, TERM + b, day) < P.fixed_term[k]
                and day + P.term_days[k] < due):
            due = day + P.term_days[k]
            flags = (flags & FLAG_LISTS) | REMOVE_EXPIRE
        if uniform(key, DEBTOR, b, day) < P.unable[c]:
            flags |= UNABLE
            if (P.delist[k] > 0.0 and uniform(key, DEBTOR, SCREEN + b, day) < P.delist[k]
                    and day + P.delist_delay[k] < due):
                due = day + P.delist_delay[k]
                flags = (flags & (FLAG_LISTS | UNABLE)) | DELISTED_UNABLE
        elif P.performance[k, c] > 0.0:
            u = uniform(key, DEBTOR, PERFORM + b, day)
            if u < P.performance[k, c] and day + P.delay[k] < due:
                due = day + P.delay[k]
                flags = (flags & FLAG_LISTS) | REMOVE_REPAIR | PERFORMED
                if u < P.anyway[k]:
                    flags |= ANYWAY


def true_counted(m, g, day, horizon, state, flows, outcomes, ob, due, flags) -> None:
    """A default by a debtor unable to pay now lists them, from its day to the day before its
    removal (or to the horizon, or to their death: the day a listing ends with the life)."""
    if flags & UNABLE:
        flows[day, g, FLOW.listed_unable] += 1
        outcomes[ob + m, OUT.listed_unable] += 1
        end = min(due, horizon + 1)
        if TURNOVER:
            end = min(end, state[m, S_DEATH])
        outcomes[ob + m, OUT.days_listed_unable] += end - day


def record_removed(m, g, day, flows, outcomes, ob, flags, column, exit_column) -> None:
    """A performed judgment (counted as repaired too) or an unable debtor's delisting; should
    it end the listing, the exit is counted as the one or the other."""
    if flags & PERFORMED:
        flows[day, g, FLOW.judgments_performed] += 1
        outcomes[ob + m, OUT.judgments_performed] += 1
        if flags & ANYWAY:
            flows[day, g, FLOW.judgments_performed_anyway] += 1
            outcomes[ob + m, OUT.judgments_performed_anyway] += 1
        exit_column = FLOW.left_by_performance
    elif flags & DELISTED_UNABLE:
        column = FLOW.delisted_unable  # noqa: F841  (the kernel's: counted instead of expired)
        exit_column = FLOW.left_by_unable_delisting  # noqa: F841  (the kernel's)


def ledger(m, g, run, counterfactual, ledger, examples, citizen) -> None:
    """The judgments performed (a level); those under pressure (the run's own draws say who
    would have paid anyway) beyond the counterfactual's, which against a counterfactual with
    a list of its own is what the run's sanctions add; and the days the unable are listed
    beyond the counterfactual's (a safeguard's effect when paired)."""
    performed = run[m, OUT.judgments_performed]
    _tally(ledger, examples, citizen, g, Q.judgments_performed, performed)
    _tally(ledger, examples, citizen, g, Q.judgments_performed_under_pressure,
           performed - run[m, OUT.judgments_performed_anyway]
           - (counterfactual[m, OUT.judgments_performed]
              - counterfactual[m, OUT.judgments_performed_anyway]))
    _tally(ledger, examples, citizen, g, Q.wrongly_listed_unable,
           1 if run[m, OUT.listed_unable] > 0 else 0)
    _tally(ledger, examples, citizen, g, Q.days_listed_unable,
           run[m, OUT.days_listed_unable] - counterfactual[m, OUT.days_listed_unable])


def _describe(s: Scenario) -> str:
    j = s.scheme.judgments
    if j is None:
        return ""
    by_income = ", ".join(f"{k} {v:.0%}" for k, v in j.unable_share_by_income.items())
    text = (f"judgment debtors: {j.unable_share:.0%} unable to pay"
            + (f" ({by_income})" if by_income else "")
            + f"; {j.performance_share:.0%} of the unwilling perform after {j.delay_days} "
            f"days ({j.anyway_share:.0%} would have anyway)")
    if j.delist_unable_share > 0:
        text += (f"; {j.delist_unable_share:.0%} of the unable delisted after "
                 f"{j.delist_unable_delay_days} days")
    if j.fixed_term_share > 0:
        text += (f"; {j.fixed_term_share:.0%} of listings end after a fixed term of "
                 f"{j.fixed_term_days} days")
    return text


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    from scsim.text import known_names

    j = s.scheme.judgments
    listing = s.scheme.blacklist_behaviours
    if not j.behaviours and not listing:
        yield "scheme.judgments", ("no behaviour's records are judgments: the scheme lists on "
                                   "no behaviour (scheme.blacklist_behaviours is empty) and "
                                   "judgments.behaviours names none")
    for k, b in enumerate(j.behaviours):
        if b not in s.behaviours:
            yield f"scheme.judgments.behaviours[{k}]", (
                f"unknown behaviour {b!r} (known: {known_names(list(s.behaviours))})")
        elif b not in listing:
            yield f"scheme.judgments.behaviours[{k}]", (
                f"{b!r} does not list (a judgment in default is a listing behaviour; "
                f"scheme.blacklist_behaviours: {known_names(listing) or 'none'})")
    incomes = [level.name for level in s.population.income_levels]
    for name in j.unable_share_by_income:
        if name not in incomes:
            yield f"scheme.judgments.unable_share_by_income.{name}", (
                f"unknown income level {name!r} (known: {known_names(incomes)})")


MECHANISM = Mechanism(
    check=check,
    name="judgments",
    title="judgment debtors",
    what="a judgment in default is by a debtor unable or unwilling to pay; the unwilling may "
         "perform, the unable may be delisted",
    plan={"true_scheduled": ("a listing may be on a fixed term; a default is the unable's or "
                             "the unwilling's; the unwilling may perform after a delay (would "
                             "they have anyway: the same draw), the unable be delisted",
                             ("DEBTOR",)),
          "true_counted": ("an unable debtor's default now lists them", ()),
          "record_removed": ("a performed judgment or an unable debtor's delisting is "
                             "counted", ()),
          "ledger": ("judgments performed, under pressure, and the unable listed", ())},
    section="scheme.judgments",
    active=lambda s: s.scheme.judgments is not None,
    params=params,
    hooks={"true_scheduled": true_scheduled, "true_counted": true_counted,
           "record_removed": record_removed, "ledger": ledger},
    purposes={"DEBTOR": DEBTOR},
    flows=(Flow("judgments_performed", "judgments performed by listed debtors (their records "
                "removed; also counted as repaired)",
                "PERFORMED the judgment (paid): the court record is removed"),
           Flow("judgments_performed_anyway", "of those, by debtors who would have paid by "
                "then without the list"),
           Flow("listed_unable", "defaults by debtors unable to pay that now list them",
                "LISTED on a debt they were UNABLE to pay"),
           Flow("delisted_unable", "records removed by a court finding the debtor unable to "
                "pay", "DELISTED: a court found them unable to pay"),
           Flow("left_by_performance", "exits from the list whose cause is a judgment "
                "performed (the SPC counts them among its credit-repair exits)"),
           Flow("left_by_unable_delisting", "exits from the list whose cause is a court "
                "finding the debtor unable to pay")),
    outcomes=("judgments_performed", "judgments_performed_anyway", "listed_unable",
              "days_listed_unable"),
    counterfactual_flows=(("counterfactual_judgments_performed", "judgments_performed"),
                          ("counterfactual_judgments_performed_anyway",
                           "judgments_performed_anyway")),
    quantities=(
        Quantity("judgments_performed", False, "benefit", "judgments", False,
                 "judgments performed (debts paid) by listed debtors",
                 against="nothing: it includes the debtors who would have paid anyway",
                 daily=("judgments_performed",)),
        Quantity("judgments_performed_under_pressure", False, "benefit", "judgments", False,
                 "judgments the debtor would not have performed by then without the list's "
                 "pressure (the run's own draws: anyway_share), beyond the counterfactual's "
                 "(against 'none', which lists nobody, the run's own; against a list with "
                 "other sanctions, what the difference in their cost buys)",
                 relative=True,
                 against="the same debtors without the list's pressure: those drawn to have "
                         "paid anyway (anyway_share) are not counted",
                 daily=("judgments_performed", "-judgments_performed_anyway",
                        "-counterfactual_judgments_performed",
                        "counterfactual_judgments_performed_anyway")),
        Quantity("wrongly_listed_unable", True, "harm", "citizens", False,
                 "citizens listed on a debt they were unable (not unwilling) to pay"),
        Quantity("days_listed_unable", False, "harm", "days", False,
                 "days on the list on a debt the debtor was unable to pay (each such record "
                 "from its day to its removal, the debtor's death or the horizon), beyond "
                 "the counterfactual's",
                 relative=True),
    ),
    describe=_describe,
    inputs=("scheme.judgments.*",),
    schedulable=("scheme.judgments.performance_share", "scheme.judgments.delay_days",
                 "scheme.judgments.anyway_share", "scheme.judgments.delist_unable_share",
                 "scheme.judgments.delist_unable_delay_days",
                 "scheme.judgments.fixed_term_share", "scheme.judgments.fixed_term_days"),
    per_period=("performance", "delay", "anyway", "delist", "delist_delay", "fixed_term",
                "term_days"),
)
