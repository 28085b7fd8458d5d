"""Deposits waived, in yuan: each use of a service by a citizen of a rewarded grade.

Sesame Credit's best-known reward is that high scorers need no deposit for
public bikes (Suzhou at 600, Hellobike at 650), hotels or car rental
(sources §1.3).  A use of a service is a behaviour of the world (a bike
ride, a hotel stay: its own rate, usually of kind "lawful" and recorded by
no channel), so a paired counterfactual meets the same uses; when a citizen
of one of the service's ``grades`` uses it, ``deposit_yuan`` is waived.  The
grade is the one held at the end of the day before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import FLOW, OUT, Flow, Mechanism, Q, unknown_grades
from scsim.quantities import Quantity
from scsim.scenario.fields import Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import S_GRADE, _tally
    from scsim.scenario.model import Scenario


class DepositService(Strict):
    """A service that asks for a deposit, waived for some grades."""

    behaviour: str
    """The behaviour that is a use of it (a bike ride, a hotel stay)."""
    grades: Annotated[list[str], Field(min_length=1)]
    """Grades whose holders need no deposit."""
    deposit_yuan: Annotated[int, Field(gt=0, le=10**7)]
    """The deposit each use would ask for."""


class Deposits(Strict):
    """Deposits waived for high grades, use by use, in yuan."""

    services: Annotated[list[DepositService], Field(min_length=1)]


class Params(NamedTuple):
    waived: np.ndarray
    """(behaviours, grades) int64 yuan waived when a citizen of the grade commits the
    behaviour (0: none)."""


def params(s: Scenario, tables) -> Params:
    names = list(s.behaviours)
    grades = [g.name for g in s.all_grades()]
    # (one more column, 0: the "no grade" of a citizen whose scheme has none)
    waived = np.zeros((len(names), len(grades) + 1), dtype=np.int64)
    deposits = s.measures.deposits
    for service in deposits.services if deposits is not None else []:
        for grade in service.grades:
            waived[names.index(service.behaviour), grades.index(grade)] += service.deposit_yuan
    return Params(waived)


def committed(P: Params, m, g, b, day, state, flows, outcomes, ob) -> None:
    yuan = P.waived[b, state[m, S_GRADE]]
    if yuan > 0:
        flows[day, g, FLOW.deposits_waived] += 1
        flows[day, g, FLOW.deposits_waived_yuan] += yuan
        outcomes[ob + m, OUT.deposits_waived_yuan] += yuan


def ledger(m, g, run, counterfactual, ledger, examples, citizen) -> None:
    _tally(ledger, examples, citizen, g, Q.deposits_waived_yuan,
                   run[m, OUT.deposits_waived_yuan] - counterfactual[m, OUT.deposits_waived_yuan])


def _describe(s: Scenario) -> str:
    d = s.measures.deposits
    return ("deposits waived: " + "; ".join(
        f"{x.behaviour} ({x.deposit_yuan:,} yuan) for grades {', '.join(x.grades)}"
        for x in d.services)) if d else ""


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    from scsim.text import known_names

    if not s.all_grades():
        yield "measures.deposits", "deposits are waived by grade: define scheme.grades"
    for k, service in enumerate(s.measures.deposits.services):
        field = f"measures.deposits.services[{k}]"
        if service.behaviour not in s.behaviours:
            yield f"{field}.behaviour", (f"unknown behaviour {service.behaviour!r} (known: "
                                         f"{known_names(list(s.behaviours))})")
        if s.all_grades():
            yield from unknown_grades(s, f"{field}.grades", service.grades)


MECHANISM = Mechanism(
    check=check,
    name="deposits",
    title="deposits waived",
    what="a use of a service by a citizen of a rewarded grade needs no deposit",
    section="measures.deposits",
    active=lambda s: s.measures.deposits is not None,
    params=params,
    hooks={"committed": committed, "ledger": ledger},
    flows=(Flow("deposits_waived", "uses of a service whose deposit was waived for the grade",
                "no deposit asked (a reward for the grade)"),
           Flow("deposits_waived_yuan", "yuan of deposits waived for the grade")),
    outcomes=("deposits_waived_yuan",),
    quantities=(Quantity("deposits_waived_yuan", False, "benefit", "yuan", False,
                         "deposits waived for high grades (a reward), beyond the "
                         "counterfactual's", relative=True,
                         daily=("deposits_waived_yuan",
                                "-counterfactual_deposits_waived_yuan")),),
    counterfactual_flows=(("counterfactual_deposits_waived_yuan", "deposits_waived_yuan"),),
    describe=_describe,
    inputs=("measures.deposits.*", "scheme.grades"),
)
