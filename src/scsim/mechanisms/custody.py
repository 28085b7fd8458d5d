"""Custody: one facility holds a citizen, whichever mechanism sent them there.

Prosecution (detention after a conviction) and camps (a flag of lawful
activity) decide only who is admitted, on which day, for how many days and
for which cause; they call ``admit``.  This module keeps the custody itself:
while held a citizen commits nothing (every candidate event is thinned away,
with the same draws as otherwise) and no false record is attributed to them;
the release comes on its own day (the member's timer); a death ends it.

A citizen admitted while already held is held once.  The rule: the terms run
concurrently, and the custody ends with the later of them.  Each day of
custody counts under one cause, that of the term which will release the
citizen, from the day that term began.  So a camp admission with a year to
run moves a citizen with ten days of detention left into the camps' count
from that day, and a detention that ends inside a camp term is served within
it (counted as a detention, not as days detained).  The per-cause levels
(``detained``, ``held_in_camps``) therefore add up to the citizens in
custody, each once, and the per-cause days (``days_detained``,
``days_in_camps``) to the days of custody.  Admissions (``detentions``,
``camp_admissions``) count every decision, concurrent ones too; a release
counts under the cause that held the citizen on the last day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from scsim.mechanisms.base import ACTIVE, FLOW, LEVEL, OUT, Mechanism, S

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import NEVER, S_TIMER, _add_level
    from scsim.scenario.model import Scenario

PROSECUTION, CAMP = 1, 2
"""The causes of a custody (``state[m, S.custody_cause]``).  A member is held on ``day``
while ``day <= state[m, S.custody_until]`` (-1 when free): an admission is always made on
its own day, so when the custody began need not be kept."""


class Params(NamedTuple):
    pass


def params(s: Scenario, tables) -> Params:
    return Params()


def arm(state, m, day):
    """Set the member's timer to the day of its release (the earliest of its own and any
    other mechanism's)."""
    release = state[m, S.custody_until] + 1
    if day < release < NEVER and release < state[m, S_TIMER]:
        state[m, S_TIMER] = release


def count_level(levels, day, horizon, g, cause, change):
    if cause == PROSECUTION:
        if ACTIVE.prosecution:
            _add_level(levels, day, horizon, g, LEVEL.detained, change)
    elif ACTIVE.camps:
        _add_level(levels, day, horizon, g, LEVEL.held_in_camps, change)


def count_days(outcomes, ob, m, cause, days):
    if cause == PROSECUTION:
        if ACTIVE.prosecution:
            outcomes[ob + m, OUT.days_detained] += days
    elif ACTIVE.camps:
        outcomes[ob + m, OUT.days_in_camps] += days


def admit(state, levels, outcomes, m, g, ob, day, horizon, cause, term):
    """Hold member ``m`` from ``day`` for ``term`` days for ``cause`` (the caller counts the
    admission itself), by the rule of concurrent terms above."""
    until = day + term - 1
    if day <= state[m, S.custody_until]:
        before = state[m, S.custody_until]
        if until <= before:
            return  # served within the custody under way
        now = state[m, S.custody_cause]
        if cause == now:
            count_days(outcomes, ob, m, cause, min(until, horizon) - min(before, horizon))
        else:  # the new term releases the citizen: its cause counts them from today
            count_level(levels, day, horizon, g, now, -1)
            count_days(outcomes, ob, m, now, -(min(before, horizon) - day + 1))
            count_level(levels, day, horizon, g, cause, 1)
            count_days(outcomes, ob, m, cause, min(until, horizon) - day + 1)
    else:
        count_level(levels, day, horizon, g, cause, 1)
        count_days(outcomes, ob, m, cause, min(until, horizon) - day + 1)
    state[m, S.custody_cause] = cause
    state[m, S.custody_until] = until
    arm(state, m, day)


def member_started(m, state) -> None:
    state[m, S.custody_until] = -1
    state[m, S.custody_cause] = 0


def thinning(m, day, state, p) -> None:
    """Held: nothing is committed (the candidate's draws are made all the same)."""
    if day <= state[m, S.custody_until]:
        p = 0.0  # noqa: F841  (the kernel's)


def false_attributed(m, day, state, caught) -> None:
    """Held: not scored, so no false record is attributed."""
    if day <= state[m, S.custody_until]:
        caught = True  # noqa: F841  (the kernel's: discarded, and counted nowhere)


def timer(m, g, day, state, levels, flows, horizon) -> None:
    """The release (before the day's admissions, which the other modules' timers make)."""
    if state[m, S.custody_until] + 1 == day:
        cause = state[m, S.custody_cause]
        count_level(levels, day, horizon, g, cause, -1)
        if cause == PROSECUTION:
            if ACTIVE.prosecution:
                flows[day, g, FLOW.releases] += 1
        elif ACTIVE.camps:
            flows[day, g, FLOW.camp_releases] += 1
        state[m, S.custody_until] = -1
        state[m, S.custody_cause] = 0
    arm(state, m, day)


def died(m, g, day, state, levels, outcomes, ob, horizon) -> None:
    """A death in custody ends it (its remaining days are not counted)."""
    if day <= state[m, S.custody_until]:
        cause = state[m, S.custody_cause]
        count_level(levels, day, horizon, g, cause, -1)
        count_days(outcomes, ob, m, cause, -(min(state[m, S.custody_until], horizon) - day + 1))
    state[m, S.custody_until] = -1
    state[m, S.custody_cause] = 0


def _holds(s: Scenario) -> bool:
    return s.measures.prosecution is not None or s.measures.camps is not None


MECHANISM = Mechanism(
    name="custody",
    title="custody",
    what="one custody for every cause: a held citizen commits nothing and is not scored; "
         "release; a death ends it",
    plan={"timer": ("release from custody (before the day's admissions)", ()),
          "thinning": ("a member in custody commits nothing", ()),
          "false_attributed": ("nor is a false record attributed to them", ()),
          "died": ("a death ends a custody", ())},
    section="custody",
    active=_holds,
    params=params,
    hooks={"member_started": member_started, "thinning": thinning,
           "false_attributed": false_attributed, "timer": timer, "died": died},
    helpers=(arm, count_level, count_days, admit),
    state=("custody_until", "custody_cause"),
    describe=lambda s: "",
    order=-3,
)
