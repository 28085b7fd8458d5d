"""Appeals: citizens contest false records; some appeals succeed and remove the record.

A counted false record of stream f is contested with probability
``contest_share`` (draw (citizen, APPEAL, f, day)) and, contested, overturned
with probability ``success_rate`` (draw (citizen, APPEAL, 4096 + f, day))
``delay_days`` later, when that comes before its expiry; its points are
restored on the decision day.  A delay of 0 means it never counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from scsim.mechanisms.base import FLOW, Mechanism
from scsim.scenario.fields import Days, Probability, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import FLAG_FALSE, FLAG_LISTS, REMOVE_APPEAL, uniform
    from scsim.scenario.model import Scenario

APPEAL = 7
"""Random-number purpose: is a false record contested (stream f), and does the appeal succeed
(stream SUCCESS + f); counter = day."""
SUCCESS = 4096


class Appeals(Strict):
    """Citizens contest false records; some appeals succeed and remove the record."""

    contest_share: Probability
    """Share of false records the citizen notices and contests."""
    success_rate: Probability
    """Probability that a contested false record is removed."""
    delay_days: Days
    """Days from the record to the decision; a successful appeal restores the points then
    (0: removed on the day it is made, before it counts)."""


class Params(NamedTuple):
    """Per period of the schedule (a record's appeal follows the values of the day it is
    made)."""

    contest: np.ndarray
    success: np.ndarray
    delay: np.ndarray


def params(s: Scenario, tables) -> Params:
    a = s.scheme.appeals
    return Params(a.contest_share, a.success_rate, a.delay_days) if a else Params(0.0, 0.0, 0)


def false_scheduled(P: Params, g, f, k, day, key, flows, due, flags) -> None:
    if P.contest[k] > 0.0 and uniform(key, APPEAL, f, day) < P.contest[k]:
        flows[day, g, FLOW.appeals] += 1
        if uniform(key, APPEAL, SUCCESS + f, day) < P.success[k] and day + P.delay[k] < due:
            due = day + P.delay[k]
            flags = (flags & (FLAG_FALSE | FLAG_LISTS)) | REMOVE_APPEAL


def _describe(s: Scenario) -> str:
    a = s.scheme.appeals
    return (f"appeals: {a.contest_share:.0%} of false records contested, "
            f"{a.success_rate:.0%} succeed after {a.delay_days} days") if a else ""


MECHANISM = Mechanism(
    name="appeals",
    title="appeals",
    what="a share of false records is contested, and some are removed after a delay",
    section="scheme.appeals",
    active=lambda s: s.scheme.appeals is not None,
    params=params,
    hooks={"false_scheduled": false_scheduled},
    purposes={"APPEAL": APPEAL},
    describe=_describe,
    inputs=("scheme.appeals.*",),
    schedulable=("scheme.appeals.contest_share", "scheme.appeals.success_rate",
                 "scheme.appeals.delay_days"),
    per_period=("contest", "success", "delay"),
)
