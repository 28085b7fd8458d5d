"""Speech suspension: a social-media account is suspended and its posts are blocked.

Two triggers: each recorded speech event suspends the account for ``days``
from the next day, or being blacklisted suspends it while listed and for
``days`` after.  A post while suspended is committed (the citizen tried) but
blocked: it is never recorded, and it counts in ``speech_blocked`` and, against
a counterfactual, in ``speech_lost``.  Overlapping suspensions merge.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Literal, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import FLOW, LEVEL, OUT, Level, Mechanism, S
from scsim.scenario.days import in_force_day
from scsim.scenario.fields import MAX_DAYS, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import NEVER, S_BLACKLISTED, SPEECH, _add_level
    from scsim.scenario.model import Scenario


class SpeechSuspension(Strict):
    """Social-media suspension: the citizen's posts are blocked for a period."""

    days: Annotated[int, Field(gt=0, le=MAX_DAYS)]
    """Length of a suspension in days, counted from the day after its trigger."""
    trigger: Literal["recorded_speech", "blacklist"] = "recorded_speech"
    """What suspends the account: each recorded speech event, or being blacklisted
    (suspended while on the list and for ``days`` after)."""


class Params(NamedTuple):
    on_speech: bool
    on_blacklist: bool
    days: np.ndarray
    """(periods,) days a suspension lasts when its trigger happens in the period."""
    from_day: int
    """The first day a trigger suspends an account (1, unless a schedule says later)."""


def params(s: Scenario, tables) -> Params:
    suspension = s.measures.speech_suspension
    if suspension is None:
        return Params(False, False, 0, 1)
    return Params(suspension.trigger == "recorded_speech", suspension.trigger == "blacklist",
                  suspension.days, in_force_day(s, "measures.speech_suspension"))


def suspend(state, levels, horizon, m, g, from_day, until):
    """Suspend the account on days from_day..until, extending a current suspension."""
    if state[m, S.suspended_until] >= from_day:  # overlaps: move the end
        _add_level(levels, state[m, S.suspended_until] + 1, horizon, g,
                   LEVEL.suspended_accounts, 1)
    else:
        _add_level(levels, from_day, horizon, g, LEVEL.suspended_accounts, 1)
        state[m, S.suspended_from] = from_day
    state[m, S.suspended_until] = until
    if until < NEVER:
        _add_level(levels, until + 1, horizon, g, LEVEL.suspended_accounts, -1)


def member_started(m, state) -> None:
    state[m, S.suspended_from] = NEVER
    state[m, S.suspended_until] = -1


def committed(m, g, kind, day, state, flows, outcomes, ob, blocked) -> None:
    """A post while the account is suspended is blocked (never recorded)."""
    if (kind == SPEECH and state[m, S.suspended_from] <= day
            and day <= state[m, S.suspended_until]):
        flows[day, g, FLOW.speech_blocked] += 1
        outcomes[ob + m, OUT.speech_blocked] += 1
        blocked = True  # noqa: F841  (a variable of the kernel: the event is not recorded)


def recorded(P: Params, m, g, k, kind, day, state, levels, horizon) -> None:
    if kind == SPEECH and P.on_speech and day >= P.from_day:
        suspend(state, levels, horizon, m, g, day + 1, day + P.days[k])


def listed(P: Params, m, g, day, state, levels, horizon) -> None:
    if P.on_blacklist and day >= P.from_day:
        suspend(state, levels, horizon, m, g, day + 1, NEVER)


def period_started(P: Params, m, g, day, state, levels, horizon) -> None:
    """Coming into force on the blacklist trigger: the listed are suspended from today."""
    if P.on_blacklist and day == P.from_day and state[m, S_BLACKLISTED]:
        suspend(state, levels, horizon, m, g, day, NEVER)


def died(m, g, day, state, levels, horizon) -> None:
    """A suspension going on ends at death."""
    if state[m, S.suspended_from] <= day and day <= state[m, S.suspended_until]:
        _add_level(levels, day, horizon, g, LEVEL.suspended_accounts, -1)
        if state[m, S.suspended_until] < NEVER:  # (its end was already counted)
            _add_level(levels, state[m, S.suspended_until] + 1, horizon, g,
                       LEVEL.suspended_accounts, 1)
        state[m, S.suspended_until] = day - 1


def delisted(P: Params, m, g, k, day, state, levels, horizon) -> None:
    if P.on_blacklist and state[m, S.suspended_until] == NEVER:  # (suspended while listed)
        # the open suspension ends ``days`` (those in force on the day it leaves) after the
        # last blacklisted day
        state[m, S.suspended_until] = day - 1 + P.days[k]
        _add_level(levels, state[m, S.suspended_until] + 1, horizon, g,
                   LEVEL.suspended_accounts, -1)


def _describe(s: Scenario) -> str:
    suspension = s.measures.speech_suspension
    if suspension is None:
        return ""
    return (f"account suspended for {suspension.days} days on each "
            + ("recorded post" if suspension.trigger == "recorded_speech"
               else "listing, and while listed"))


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    if not any(b.kind == "speech" for b in s.behaviours.values()):
        yield "measures.speech_suspension", (
            'no behaviour has kind = "speech", so there is nothing to block')
    if (s.measures.speech_suspension.trigger == "blacklist"
            and s.scheme.blacklist_below is None and not s.scheme.blacklist_behaviours):
        yield "measures.speech_suspension.trigger", (
            "the trigger is the blacklist, but the scheme has none: set scheme.blacklist_below "
            "or scheme.blacklist_behaviours")


MECHANISM = Mechanism(
    check=check,
    name="speech_suspension",
    title="speech suspension",
    what="a post while suspended is blocked; a recorded post or a listing suspends the "
         "account",
    plan={"committed": ("a post while suspended is blocked", ()),
          "recorded": ("a recorded post suspends the account", ()),
          "listed": ("a listing suspends the account while listed and after", ()),
          "period_started": ("coming into force, the listed are suspended", ())},
    section="measures.speech_suspension",
    active=lambda s: s.measures.speech_suspension is not None,
    params=params,
    hooks={"member_started": member_started, "committed": committed, "recorded": recorded,
           "listed": listed, "delisted": delisted, "period_started": period_started,
           "died": died},
    helpers=(suspend,),
    state=("suspended_from", "suspended_until"),
    levels=(Level("suspended_accounts", "citizens whose social-media account is suspended",
                  "social-media account suspended", "account restored"),),
    describe=_describe,
    inputs=("measures.speech_suspension.*",),
    always_reported=True,
    can_start_later=True,
    schedulable=("measures.speech_suspension.days",),
    per_period=("days",),
)
