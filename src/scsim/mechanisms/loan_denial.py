"""Loan denial: the listed are refused bank loans.

MODEL.md and the reporting it rests on list loan denial among the blacklist's measures: a
listed person cannot borrow from banks.  A citizen applies for a loan on a day with
``daily_application_rate``; on every day of a blacklisted spell an application is refused
(``scsim.mechanisms.refusals``): ``loans_denied`` is an exact per-citizen difference.
"""

from __future__ import annotations

from typing import Literal

from scsim.mechanisms.base import Flow
from scsim.mechanisms.refusals import refusal_on_listed_days
from scsim.quantities import Quantity
from scsim.scenario.fields import Probability, Strict, Yuan

LOAN = 12
"""Random-number purpose: does the citizen apply for a loan on a given day (counter = day)."""


class LoanDenial(Strict):
    """Bank loans are refused to sanctioned citizens."""

    daily_application_rate: Probability
    """Probability that a citizen applies for a loan on a given day."""
    yuan_per_refused_loan: Yuan = 0.0
    """What one refused loan costs the applicant, in yuan (what they respond to:
    ``scsim.mechanisms.response``)."""
    applies_to: Literal["blacklist"] = "blacklist"
    """Who is refused: citizens on the blacklist."""


MECHANISM = refusal_on_listed_days(
    name="loan_denial", title="loan denial", section="measures.loan_denial",
    what="loan applications over listed spells are refused", rate="daily_application_rate",
    purpose=("LOAN", LOAN), attempts="a loan applied for", cost="yuan_per_refused_loan",
    flow=Flow("loans_denied", "loan applications refused to the listed",
              "a loan application REFUSED: the applicant is listed"),
    quantity=Quantity("loans_denied", False, "harm", "loans", False,
                      "loan applications refused to the listed, beyond the counterfactual's",
                      relative=True, daily=("loans_denied", "-counterfactual_loans_denied")),
)
