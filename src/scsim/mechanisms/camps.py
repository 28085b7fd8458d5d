"""Detention in camps: a flag of lawful everyday activity may send a citizen to a camp.

In Xinjiang a police platform flags people for ordinary lawful behaviour,
and in one week of 2017 about 62% of the flagged in part of the south were
sent to camps (sources §3.2).  As statistics only: a recorded event of one
of ``behaviours`` (of kind "lawful", so its suppression is a harm, never an
offence prevented) is a flag; with ``conversion`` (a draw keyed by the
citizen, CAMP, the behaviour and the day) it sends the citizen to a camp
``delay_days`` later, for ``term_days``, in the custody that ``custody``
keeps (held, a citizen commits nothing and is not scored; its rule for a
citizen detained too).  A citizen flagged while an admission is pending is
not sent twice.  The admission happens on its own day (the member's timer,
as in ``prosecution``); a camp is not the blacklist.
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
from scsim.mechanisms.custody import CAMP as HELD_IN_CAMP
from scsim.mechanisms.custody import admit as hold
from scsim.quantities import Quantity
from scsim.scenario.fields import MAX_DAYS, Days, Probability, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        LAWFUL,
        NEVER,
        S_TIMER,
        _tally,
        uniform,
    )
    from scsim.scenario.model import Scenario

CAMP = 17
"""Random-number purpose: does a flag (a record of behaviour b, counter = its day; a false
record of stream f: index FALSE_FLAG + f) send the citizen to a camp."""
FALSE_FLAG = 4096


class Camps(Strict):
    """Detention in camps of citizens flagged for lawful activity (statistics only)."""

    behaviours: Annotated[list[str], Field(min_length=1)]
    """Lawful behaviours whose records are flags (each of kind "lawful")."""
    conversion: Probability
    """Probability that a flag sends the citizen to a camp."""
    delay_days: Days = 0
    """Days from the flag to the admission."""
    term_days: Annotated[int, Field(gt=0, le=MAX_DAYS)]
    """Days a citizen is held."""


class Params(NamedTuple):
    flagged: np.ndarray
    """(behaviours,) int64 1 if its records are flags."""
    false_flagged: np.ndarray
    """(false-record streams,) int64 1 if the behaviour the stream claims is flagged."""
    conversion: float
    delay: int
    term: int


def params(s: Scenario, tables) -> Params:
    camps = s.measures.camps
    names = list(s.behaviours)
    streams = [c.false_attribution.behaviour for c in s.channels.values()
               if c.false_attribution]
    flagged = set(camps.behaviours) if camps is not None else set()
    return Params(np.array([b in flagged for b in names], dtype=np.int64),
                  np.array([b in flagged for b in streams], dtype=np.int64),
                  camps.conversion if camps else 0.0, camps.delay_days if camps else 0,
                  camps.term_days if camps else 1)


def arm(state, m, day):
    """Set the member's timer to its admission (the earliest of its own and any other
    mechanism's)."""
    if day < state[m, S.camp_day] < NEVER and state[m, S.camp_day] < state[m, S_TIMER]:
        state[m, S_TIMER] = state[m, S.camp_day]


def admit(state, levels, flows, outcomes, m, g, ob, day, horizon, term):
    if state[m, S.camp_false]:  # sent for a false match
        flows[day, g, FLOW.camp_admissions_for_false_flags] += 1
        outcomes[ob + m, OUT.held_for_false_flags] = 1
        state[m, S.camp_false] = 0
    state[m, S.camp_day] = NEVER
    flows[day, g, FLOW.camp_admissions] += 1
    outcomes[ob + m, OUT.ever_held_in_camps] = 1
    hold(state, levels, outcomes, m, g, ob, day, horizon, HELD_IN_CAMP, term)


def member_started(m, state) -> None:
    state[m, S.camp_false] = 0
    state[m, S.camp_day] = NEVER


def committed(m, kind, outcomes, ob) -> None:
    """Lawful activity done (in both variants: what the system suppresses is a harm)."""
    if kind == LAWFUL:
        outcomes[ob + m, OUT.lawful_activity] += 1


def recorded(P: Params, m, g, b, kind, day, key, state, levels, flows, outcomes, ob,
             horizon) -> None:
    """A flag may send the member to a camp (not twice while an admission is pending)."""
    if (kind == LAWFUL and P.flagged[b] and state[m, S.camp_day] == NEVER
            and P.conversion > 0.0 and uniform(key, CAMP, b, day) < P.conversion):
        on = day + P.delay
        if on <= horizon:
            state[m, S.camp_day] = on
            if on == day:
                admit(state, levels, flows, outcomes, m, g, ob, day, horizon, P.term)
            arm(state, m, day)


def false_recorded(P: Params, m, g, f, day, key, state, levels, flows, outcomes, ob,
                   horizon) -> None:
    """A false record of a flagged behaviour (a false match) is a flag too."""
    if (P.false_flagged[f] and state[m, S.camp_day] == NEVER and P.conversion > 0.0
            and uniform(key, CAMP, FALSE_FLAG + f, day) < P.conversion):
        on = day + P.delay
        if on <= horizon:
            state[m, S.camp_day] = on
            state[m, S.camp_false] = 1
            if on == day:
                admit(state, levels, flows, outcomes, m, g, ob, day, horizon, P.term)
            arm(state, m, day)


def timer(P: Params, m, g, day, state, levels, flows, outcomes, ob, horizon) -> None:
    """An admission (after the day's release from custody)."""
    if state[m, S.camp_day] == day:
        admit(state, levels, flows, outcomes, m, g, ob, day, horizon, P.term)
    arm(state, m, day)


def died(m, state) -> None:
    """A death lapses an admission to come (custody ends a detention)."""
    state[m, S.camp_day] = NEVER
    state[m, S.camp_false] = 0


def ledger(m, g, run, counterfactual, ledger, paired, examples, citizen) -> None:
    _tally(ledger, examples, citizen, g, Q.ever_held_in_camps, run[m, OUT.ever_held_in_camps])
    _tally(ledger, examples, citizen, g, Q.days_in_camps, run[m, OUT.days_in_camps])
    _tally(ledger, examples, citizen, g, Q.held_for_false_flags, run[m, OUT.held_for_false_flags])
    if paired:
        _tally(ledger, examples, citizen, g, Q.lawful_activity_suppressed,
                       counterfactual[m, OUT.lawful_activity] - run[m, OUT.lawful_activity])


def _describe(s: Scenario) -> str:
    c = s.measures.camps
    return (f"camps: {c.conversion:.0%} of flags of {', '.join(c.behaviours)} send the citizen "
            f"to a camp after {c.delay_days} days, for {c.term_days} days" if c else "")


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    yield from behaviours_of_kind(s, "measures.camps.behaviours", s.measures.camps.behaviours,
                                  "lawful")


MECHANISM = Mechanism(
    check=check,
    name="camps",
    title="detention in camps",
    what="a flag of lawful activity may send the citizen to a camp for a term",
    plan={"recorded": ("a flag (a record of a lawful activity) may send the member to a camp",
                       ("CAMP",)),
          "timer": ("admission to a camp (custody keeps and releases)", ()),
          "committed": ("lawful activity is counted (its suppression is a harm)", ()),
          "false_recorded": ("a false match of a flagged activity is a flag too", ("CAMP",)),
          "died": ("a death lapses an admission to come", ())},
    section="measures.camps",
    active=lambda s: s.measures.camps is not None,
    params=params,
    hooks={"member_started": member_started, "committed": committed,
           "recorded": recorded, "false_recorded": false_recorded, "timer": timer,
           "died": died, "ledger": ledger},
    helpers=(arm, admit),
    purposes={"CAMP": CAMP},
    state=("camp_day", "camp_false"),
    flows=(Flow("camp_admissions", "citizens sent to a camp for a flag of lawful activity",
                "sent to a camp for a flagged lawful activity"),
           Flow("camp_admissions_for_false_flags",
                "admissions for a false match of a flagged activity",
                "sent to a camp for a FALSE match"),
           Flow("camp_releases", "citizens released from a camp", "released from a camp")),
    levels=(Level("held_in_camps", "citizens held in camps at the end of the day"),),
    outcomes=("ever_held_in_camps", "days_in_camps", "lawful_activity", "held_for_false_flags"),
    quantities=(
        Quantity("ever_held_in_camps", True, "harm", "citizens", False,
                 "citizens sent to a camp for a flag of lawful activity"),
        Quantity("days_in_camps", False, "harm", "days", False,
                 "days held in camps (to the horizon)"),
        Quantity("held_for_false_flags", True, "harm", "citizens", False,
                 "citizens sent to a camp for a false match of a flagged activity"),
        Quantity("lawful_activity_suppressed", False, "harm", "events", True,
                 "lawful activity not done (held, or deterred), against the counterfactual",
                 relative=True),  # (counterfactual minus run: negative against more camps)
    ),
    describe=_describe,
    inputs=("measures.camps.*",),
    order=-2,
)
