"""Loan denial: the listed are refused bank loans.

MODEL.md and the reporting it rests on list loan denial among the
blacklist's measures: a listed person cannot borrow from banks.  A citizen
applies for a loan on a day with ``daily_application_rate``; on every day of
a blacklisted spell an application is refused.  The application is a draw
keyed by (citizen, LOAN, day), so a paired counterfactual meets the same
applications and ``loans_denied`` is an exact per-citizen difference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from scsim.ledger import Quantity
from scsim.mechanisms.base import FLOW, OUT, Flow, Mechanism, Q
from scsim.scenario.fields import Probability, Strict
from scsim.scenario.schedule import in_force_day

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        SCHEDULED,
        _tally,
        refused_on_listed_days,
        refused_on_listed_days_by_period,
    )
    from scsim.scenario.model import Scenario

LOAN = 12
"""Random-number purpose: does the citizen apply for a loan on a given day (counter = day)."""


class LoanDenial(Strict):
    """Bank loans are refused to sanctioned citizens."""

    daily_application_rate: Probability
    """Probability that a citizen applies for a loan on a given day."""
    applies_to: Literal["blacklist"] = "blacklist"
    """Who is refused: citizens on the blacklist."""


class Params(NamedTuple):
    application_prob: np.ndarray
    """(periods, classes) daily probability of a loan application (0: no loan denial)."""
    from_day: int
    """The first day loans are refused (1, unless a schedule says later)."""
    period_of_day: np.ndarray
    """The period of each day (the tables'), for the rate of each listed day."""


def params(s: Scenario, tables) -> Params:
    denial = s.measures.loan_denial
    rate = denial.daily_application_rate if denial is not None else 0.0
    return Params(np.full(tables.n_classes, rate), in_force_day(s, "measures.loan_denial"),
                  tables.period_of_day)


def spell_closed(P: Params, key, first, last_day, m, ob, g, c, flows, outcomes) -> None:
    """Each blacklisted day it is in force, a loan applied for that day is refused."""
    if SCHEDULED:  # (the generator keeps the branch of the kernel's kind)
        outcomes[ob + m, OUT.loans_denied] += refused_on_listed_days_by_period(
            key, LOAN, max(first, P.from_day), last_day, P.application_prob[:, c],
            P.period_of_day, flows, g, FLOW.loans_denied)
    else:
        outcomes[ob + m, OUT.loans_denied] += refused_on_listed_days(
            key, LOAN, max(first, P.from_day), last_day, P.application_prob[0, c], flows, g,
            FLOW.loans_denied)


def ledger(m, g, run, counterfactual, ledger, examples, citizen) -> None:
    _tally(ledger, examples, citizen, g, Q.loans_denied,
                   run[m, OUT.loans_denied] - counterfactual[m, OUT.loans_denied])


def _describe(s: Scenario) -> str:
    from scsim.describe import per_million

    denial = s.measures.loan_denial
    return (f"loan denial: a loan applied for {per_million(denial.daily_application_rate)} "
            "times per million citizen-days is refused to the blacklisted") if denial else ""


MECHANISM = Mechanism(
    acts_on_blacklist=True,
    name="loan_denial",
    title="loan denial",
    what="loan applications over listed spells are refused",
    section="measures.loan_denial",
    active=lambda s: s.measures.loan_denial is not None,
    params=params,
    hooks={"spell_closed": spell_closed, "ledger": ledger},
    purposes={"LOAN": LOAN},
    flows=(Flow("loans_denied", "loan applications refused to the listed",
                "a loan application REFUSED: the applicant is listed"),),
    outcomes=("loans_denied",),
    quantities=(Quantity("loans_denied", False, "harm", "loans", False,
                         "loan applications refused to the listed, beyond the "
                         "counterfactual's", relative=True,
                         daily=("loans_denied", "-counterfactual_loans_denied")),),
    counterfactual_flows=(("counterfactual_loans_denied", "loans_denied"),),
    describe=_describe,
    inputs=("measures.loan_denial.*",),
    can_start_later=True,
    schedulable=("measures.loan_denial.daily_application_rate",),
    per_period=("application_prob",),
)
