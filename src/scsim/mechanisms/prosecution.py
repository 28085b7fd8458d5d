"""Prosecution for speech: a recorded post may bring a case, detention, a fine and listing.

The seed's Liu Hu, a journalist, was arrested, jailed and fined for what he
wrote, then listed (barred from planes and fast trains) when the court found
his apology insincere.  As statistics: a recorded post of a prosecuted
behaviour is prosecuted with ``probability`` (a draw keyed by the citizen,
PROSECUTE, the behaviour and the record's day); the case comes to court
``delay_days`` later; it ends in a conviction with ``conviction_rate``,
which brings detention for ``detention_days`` from that day and a fine; a
convicted citizen who refuses to comply (apologise, pay) with
``refusal_share`` is listed from release for ``listing_days``, with every
measure of the list.  The detention is a custody that ``custody`` keeps
(held, a citizen commits nothing and is not scored; its rule for a citizen
held in a camp too).  A citizen with a case pending is not prosecuted again
until it comes to court.

Each step happens on its own day: the member's timer (``S_TIMER``) wakes it
when a case comes to court, and where a listing starts or ends,
so the listing acts from its very day and the daily counts are those days'.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import (
    FLOW,
    OUT,
    Flow,
    Level,
    Mechanism,
    Q,
    S,
    behaviours_of_kind,
)
from scsim.mechanisms.custody import PROSECUTION as DETAINED
from scsim.mechanisms.custody import admit as hold
from scsim.quantities import Quantity
from scsim.scenario.fields import MAX_DAYS, Days, Probability, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        FLOW_LEFT_BY_EXPIRY,
        NEVER,
        S_TIMER,
        SPEECH,
        _tally,
        uniform,
    )
    from scsim.scenario.model import Scenario

PROSECUTE = 15
"""Random-number purpose: is a record prosecuted (index b), the case won (CONVICT + b), the
sentence refused (REFUSE + b); counter = the record's day."""
CONVICT = 4096
REFUSE = 8192
CONVICTED, REFUSES = 1, 2  # bits of the pending case's outcome


class Prosecution(Strict):
    """Prosecution of recorded speech: court, detention, a fine, and listing on refusal."""

    behaviours: Annotated[list[str], Field(min_length=1)]
    """Speech behaviours whose records may be prosecuted (each of kind "speech")."""
    probability: Probability
    """Probability that a recorded post of them is prosecuted."""
    delay_days: Days = 0
    """Days from the record to the case coming to court."""
    conviction_rate: Probability = 1.0
    """Probability that a case ends in a conviction."""
    detention_days: Days = 0
    """Days of detention a conviction brings, from the day of the case."""
    fine_yuan: Annotated[int, Field(ge=0, le=10**9)] = 0
    """The fine a conviction brings."""
    refusal_share: Probability = 0.0
    """Probability that a convicted citizen refuses to comply and is listed."""
    listing_days: Annotated[int, Field(gt=0, le=MAX_DAYS)] = 730
    """How long a refusal lists, from release."""


class Params(NamedTuple):
    prosecuted: np.ndarray
    """(behaviours,) int64 1 if its records may be prosecuted."""
    probability: float
    delay: int
    conviction: float
    detention: int
    fine: int
    refusal: float
    listing: int


def params(s: Scenario, tables) -> Params:
    p = s.measures.prosecution
    names = list(s.behaviours)
    if p is None:
        return Params(np.zeros(len(names), dtype=np.int64), 0.0, 0, 0.0, 0, 0, 0.0, 1)
    return Params(np.array([b in p.behaviours for b in names], dtype=np.int64), p.probability,
                  p.delay_days, p.conviction_rate, p.detention_days, p.fine_yuan,
                  p.refusal_share, p.listing_days)


def arm(state, m, day):
    """Set the member's timer to the next day of its case or listing after ``day`` (the
    earliest of its own and any other mechanism's)."""
    for next_day in (state[m, S.case_day], state[m, S.speech_from],
                     state[m, S.speech_until] + 1):
        if day < next_day < NEVER and next_day < state[m, S_TIMER]:
            state[m, S_TIMER] = next_day


def come_to_court(state, levels, flows, outcomes, m, g, ob, day, horizon, detention, fine,
                  listing):
    """The member's pending case comes to court on ``day``: detention, fine, listing."""
    flags = state[m, S.case_flags]
    state[m, S.case_day] = NEVER
    flows[day, g, FLOW.prosecutions] += 1
    outcomes[ob + m, OUT.prosecuted] = 1
    if flags & CONVICTED:
        outcomes[ob + m, OUT.fines_yuan] += fine
        free_from = day
        if detention > 0:
            flows[day, g, FLOW.detentions] += 1
            outcomes[ob + m, OUT.ever_detained] = 1
            hold(state, levels, outcomes, m, g, ob, day, horizon, DETAINED, detention)
            free_from = day + detention
        if flags & REFUSES:
            if state[m, S.speech_until] >= free_from - 1:  # a listing going on: it lasts longer
                state[m, S.speech_until] = max(state[m, S.speech_until],
                                               free_from + listing - 1)
            else:  # (counted on its first day: here, or when the timer wakes the member)
                state[m, S.speech_from] = free_from
                state[m, S.speech_until] = free_from + listing - 1
                if free_from == day:
                    flows[day, g, FLOW.listed_for_speech] += 1
                    outcomes[ob + m, OUT.listed_for_speech] = 1


def member_started(m, state) -> None:
    state[m, S.case_day] = NEVER
    state[m, S.case_flags] = 0
    state[m, S.speech_from] = NEVER
    state[m, S.speech_until] = -1


def recorded(P: Params, m, g, b, kind, day, key, state, levels, flows, outcomes, ob,
             horizon) -> None:
    """A recorded post of a prosecuted behaviour may be prosecuted (none while a case is
    pending)."""
    if (kind == SPEECH and P.prosecuted[b] and state[m, S.case_day] == NEVER
            and P.probability > 0.0 and uniform(key, PROSECUTE, b, day) < P.probability):
        on = day + P.delay
        if on <= horizon:
            flags = 0
            if uniform(key, PROSECUTE, CONVICT + b, day) < P.conviction:
                flags = CONVICTED
                if uniform(key, PROSECUTE, REFUSE + b, day) < P.refusal:
                    flags = CONVICTED | REFUSES
            state[m, S.case_day] = on
            state[m, S.case_flags] = flags
            if on == day:
                come_to_court(state, levels, flows, outcomes, m, g, ob, day, horizon,
                              P.detention, P.fine, P.listing)
            arm(state, m, day)


def timer(P: Params, m, g, day, state, levels, flows, outcomes, ob, horizon) -> None:
    """The member's day (after the day's release from custody): a listing starts, a case
    comes to court; then the next day is armed."""
    if state[m, S.speech_from] == day:
        flows[day, g, FLOW.listed_for_speech] += 1
        outcomes[ob + m, OUT.listed_for_speech] = 1
    if state[m, S.case_day] == day:
        come_to_court(state, levels, flows, outcomes, m, g, ob, day, horizon, P.detention,
                      P.fine, P.listing)
    arm(state, m, day)


def listing(m, day, state, now_blacklisted, exit_column) -> None:
    """Listed from release for the listing's days (the score's verdict aside); a listing that
    ends today ends by its term (an exit counted as expired, should nothing else hold the
    member)."""
    if state[m, S.speech_from] <= day and day <= state[m, S.speech_until]:
        now_blacklisted = True  # noqa: F841  (the kernel's)
    elif day == state[m, S.speech_until] + 1:
        exit_column = FLOW_LEFT_BY_EXPIRY  # noqa: F841  (the kernel's)


def died(m, state) -> None:
    """A death lapses a pending case and a listing to come (custody ends a detention)."""
    state[m, S.case_day] = NEVER
    state[m, S.speech_from] = NEVER
    state[m, S.speech_until] = -1


def ledger(m, g, run, ledger, examples, citizen) -> None:
    """The run's own counts (with a counterfactual, the run's too: nobody is prosecuted
    without the system)."""
    _tally(ledger, examples, citizen, g, Q.prosecuted, run[m, OUT.prosecuted])
    _tally(ledger, examples, citizen, g, Q.ever_detained, run[m, OUT.ever_detained])
    _tally(ledger, examples, citizen, g, Q.days_detained, run[m, OUT.days_detained])
    _tally(ledger, examples, citizen, g, Q.listed_for_speech, run[m, OUT.listed_for_speech])
    _tally(ledger, examples, citizen, g, Q.fines_yuan, run[m, OUT.fines_yuan])


def _describe(s: Scenario) -> str:
    p = s.measures.prosecution
    if p is None:
        return ""
    return (f"prosecution: {p.probability:.1%} of recorded posts of "
            f"{', '.join(p.behaviours)} come to court after {p.delay_days} days; "
            f"{p.conviction_rate:.0%} convicted ({p.detention_days} days' detention, a fine of "
            f"{p.fine_yuan:,} yuan); {p.refusal_share:.0%} of them refuse to comply and are "
            f"listed for {p.listing_days} days")


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    yield from behaviours_of_kind(s, "measures.prosecution.behaviours",
                                  s.measures.prosecution.behaviours, "speech")


MECHANISM = Mechanism(
    check=check,
    name="prosecution",
    title="prosecution for speech",
    what="a recorded post may be prosecuted: detention, a fine, and listing on refusal",
    plan={"recorded": ("a recorded post may be prosecuted (the case, its verdict and a "
                       "refusal drawn on the record's day)", ("PROSECUTE",)),
          "timer": ("a case comes to court (detention in custody, fine); a refusal's "
                    "listing starts", ()),
          "listing": ("listed from release while the refusal's listing lasts", ()),
          "died": ("a death lapses a pending case and a listing to come", ())},
    section="measures.prosecution",
    active=lambda s: s.measures.prosecution is not None,
    params=params,
    hooks={"member_started": member_started, "recorded": recorded, "timer": timer,
           "listing": listing, "died": died, "ledger": ledger},
    helpers=(arm, come_to_court),
    purposes={"PROSECUTE": PROSECUTE},
    state=("case_day", "case_flags", "speech_from", "speech_until"),
    flows=(Flow("prosecutions", "cases for recorded posts that came to court",
                "prosecuted for a post"),
           Flow("detentions", "convictions that began a detention", "detained"),
           Flow("releases", "detentions that ended", "released from detention"),
           Flow("listed_for_speech", "listings for refusing to comply after a conviction",
                "listed for refusing to comply with a conviction for speech")),
    levels=(Level("detained", "citizens held in detention at the end of the day"),),
    outcomes=("prosecuted", "ever_detained", "days_detained", "listed_for_speech",
              "fines_yuan"),
    quantities=(
        Quantity("prosecuted", True, "harm", "citizens", False,
                 "citizens whose post brought a case to court"),
        Quantity("ever_detained", True, "harm", "citizens", False,
                 "citizens detained after a conviction for speech"),
        Quantity("days_detained", False, "harm", "days", False,
                 "days held in detention (to the horizon)"),
        Quantity("listed_for_speech", True, "harm", "citizens", False,
                 "citizens listed for refusing to comply with a conviction for speech"),
        Quantity("fines_yuan", False, "harm", "yuan", False,
                 "fines of convictions for speech"),
    ),
    describe=_describe,
    inputs=("measures.prosecution.*",),
    order=-2,
)
