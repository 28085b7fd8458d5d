"""Employment penalty: the listed lose income, paid as if some income levels lower.

While blacklisted, a citizen is paid the daily income of the level
``levels_down`` below theirs (not below the lowest); the level
``income_lost`` sums, per day and group, the yuan the listed lose a day, the
ledger's ``income_lost`` the yuan each citizen lost over the run.  The
citizen's behaviour rates follow the lower level too (more late payments:
the poverty trap): their candidate events are drawn at the highest rate any
level they can reach has (``engine/tables.py``, so that a paired run without
the penalty meets the same candidates), and this module thins them at the
penalised level's rate while they are listed.  Only a ``share`` of citizens hold a
post the penalty can take from them (its source counts 170,000 barred from executive posts
among 8.87 million listed, 1.9%); the draw is a fixed trait of the citizen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import LEVEL, OUT, Level, Mechanism, Q, S, class_traits
from scsim.quantities import Quantity
from scsim.scenario.days import in_force_day
from scsim.scenario.fields import MAX_CATEGORIES, Probability, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        S_BLACKLISTED,
        S_ID,
        _tally,
        citizen_key,
        uniform,
    )
    from scsim.scenario.model import Scenario

EMPLOYMENT = 19
"""Random-number purpose: does the citizen hold a post the penalty can take (stream 0,
counter 0: a fixed trait)."""


class EmploymentPenalty(Strict):
    """Blacklisted citizens lose income: they are paid as if ``levels_down`` income levels lower.

    Their behaviour rates follow the lower level too (e.g. more late payments): the poverty trap.
    """

    levels_down: Annotated[int, Field(ge=1, le=MAX_CATEGORIES)] = 1
    """How many income levels lower a blacklisted citizen is paid (not below the lowest)."""
    share: Probability = 1.0
    """Share of citizens in a post the penalty can take from them (an executive post, the
    civil service): only they are paid less when listed (a fixed trait of the citizen, drawn
    from (citizen, EMPLOYMENT)); 1: every listed citizen."""


class Params(NamedTuple):
    income_loss: np.ndarray
    """(classes,) int64 yuan a listed citizen of the class loses a day (0: no penalty)."""
    from_day: int
    """The first day the penalty applies (1, unless a schedule says later)."""
    share: float
    """Share of citizens the penalty can reach (1: all, and no draw is made)."""


def params(s: Scenario, tables) -> Params:
    """The loss of each class: its income level's daily income minus that ``levels_down``
    lower."""
    penalty = s.measures.employment_penalty
    incomes = [level.daily_income for level in s.population.income_levels]
    n_classes = tables.n_classes
    if penalty is None:
        return Params(np.zeros(n_classes, dtype=np.int64), 1, 1.0)
    down = min(penalty.levels_down, len(incomes) - 1)
    level, _, _ = class_traits(tables)
    loss = np.array([incomes[i] - incomes[max(i - down, 0)] for i in level], dtype=np.int64)
    return Params(loss, in_force_day(s, "measures.employment_penalty"), penalty.share)


def member_started(m, state) -> None:
    state[m, S.penalised] = 0


def rate(m, c, b, k, state, t, multiplier, p) -> None:
    """A penalised member commits at the lower income level's rate."""
    if state[m, S.penalised]:
        p = t.accept_ratio[k, c, 1, b] * multiplier[m, b]  # noqa: F841  (the kernel's p)


def reachable(key, share):
    """Whether the citizen (their ``key``) holds a post the penalty can take from them."""
    return share >= 1.0 or uniform(key, EMPLOYMENT, 0, 0) < share


def listed(P: Params, m, g, c, day, state, levels, seed_key) -> None:
    if (P.income_loss[c] > 0 and day >= P.from_day
            and reachable(citizen_key(seed_key, state[m, S_ID]), P.share)):
        state[m, S.penalised] = 1
        levels[day, g, LEVEL.income_lost] += P.income_loss[c]


def period_started(P: Params, m, g, c, day, key, state, levels) -> None:
    """The penalty comes into force: whoever is listed now is paid less from today."""
    if (day == P.from_day and state[m, S_BLACKLISTED] and P.income_loss[c] > 0
            and reachable(key, P.share)):
        state[m, S.penalised] = 1
        levels[day, g, LEVEL.income_lost] += P.income_loss[c]


def delisted(P: Params, m, g, c, day, state, levels) -> None:
    if state[m, S.penalised]:
        state[m, S.penalised] = 0
        levels[day, g, LEVEL.income_lost] -= P.income_loss[c]


def spell_closed(P: Params, m, ob, c, key, first, last_day, outcomes) -> None:
    paid_less = last_day - max(first, P.from_day) + 1  # the listed days it is in force
    if paid_less > 0 and reachable(key, P.share):
        outcomes[ob + m, OUT.income_lost] += paid_less * P.income_loss[c]


def ledger(m, g, run, counterfactual, ledger, examples, citizen) -> None:
    _tally(ledger, examples, citizen, g, Q.income_lost,
                   run[m, OUT.income_lost] - counterfactual[m, OUT.income_lost])


def _describe(s: Scenario) -> str:
    penalty = s.measures.employment_penalty
    if not penalty:
        return ""
    return (f"blacklisted citizens are paid {penalty.levels_down} income level(s) lower"
            + (f" ({penalty.share:.1%} of them: those in a post it can take)"
               if penalty.share < 1.0 else ""))


def daily_cost(s: Scenario, tables) -> np.ndarray:
    """The income a listed day takes (what the listed respond to:
    ``scsim.mechanisms.response``)."""
    p = params(s, tables)
    return p.income_loss.astype(np.float64) * p.share


MECHANISM = Mechanism(
    acts_on_blacklist=True,
    name="employment_penalty",
    title="employment penalty",
    what="listed members are paid at a lower income level, and behave like it",
    plan={"rate": ("a listed member behaves like the lower income level", ()),
          "listed": ("a listed member in a post it can take is paid at a lower income "
                     "level", ("EMPLOYMENT",)),
          "period_started": ("coming into force, the listed in such posts are paid less "
                             "from today", ("EMPLOYMENT",)),
          "spell_closed": ("the yuan lost over the spell are counted", ("EMPLOYMENT",))},
    section="measures.employment_penalty",
    active=lambda s: s.measures.employment_penalty is not None,
    params=params,
    hooks={"member_started": member_started, "rate": rate, "listed": listed,
           "delisted": delisted, "spell_closed": spell_closed, "ledger": ledger,
           "period_started": period_started},
    state=("penalised",),
    helpers=(reachable,),
    purposes={"EMPLOYMENT": EMPLOYMENT},
    levels=(Level("income_lost", "yuan a day the listed lose to the employment penalty",
                  "paid {value} yuan a day less (employment penalty)", "pay restored"),),
    outcomes=("income_lost",),
    quantities=(Quantity("income_lost", False, "harm", "yuan", False,
                         "income lost to the employment penalty while blacklisted, beyond the "
                         "counterfactual's", relative=True,
                         daily=("income_lost", "-counterfactual_income_lost")),),
    describe=_describe,
    daily_cost=daily_cost,
    inputs=("measures.employment_penalty.*",),
    always_reported=True,
    can_start_later=True,
)
