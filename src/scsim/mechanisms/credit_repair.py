"""Credit repair: a share of true offence records is removed after the citizen makes amends.

Each true record of a repairable behaviour is repaired with probability
``share`` (a draw keyed by (citizen, REPAIR, behaviour, day)), ``delay_days``
after it is made, when that comes before its expiry; its points are
restored then.  A delay of 0 means the record never counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from scsim.mechanisms.base import Mechanism
from scsim.scenario.fields import Days, Probability, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import FLAG_LISTS, REMOVE_REPAIR, uniform
    from scsim.scenario.model import Scenario

REPAIR = 8
"""Random-number purpose: is a true record repaired (stream = behaviour, counter = day)."""


class CreditRepair(Strict):
    """Credit repair: a share of true offence records is removed after the citizen makes amends."""

    share: Probability
    """Share of recorded offences of the listed behaviours that are repaired."""
    delay_days: Days
    """Days from the record to its repair, when its points are restored."""
    behaviours: list[str] = []
    """Behaviours that can be repaired (e.g. court_default: paying the debt); empty: all
    offences."""


class Params(NamedTuple):
    repairable: np.ndarray
    """(behaviours,) int64 1 if its records can be repaired."""
    share: np.ndarray
    """(periods,) share of a record made in the period that is repaired ..."""
    delay: np.ndarray
    """(periods,) ... after these days."""


def params(s: Scenario, tables) -> Params:
    repair = s.scheme.credit_repair
    names = list(s.behaviours)
    if repair is None:
        return Params(np.zeros(len(names), dtype=np.int64), 0.0, 0)
    repairable = set(repair.behaviours) or {b for b in names if s.behaviours[b].kind == "offence"}
    return Params(np.array([b in repairable for b in names], dtype=np.int64), repair.share,
                  repair.delay_days)


def true_scheduled(P: Params, b, k, day, key, due, flags) -> None:
    if (P.repairable[b] and uniform(key, REPAIR, b, day) < P.share[k]
            and day + P.delay[k] < due):
        due = day + P.delay[k]
        flags = (flags & FLAG_LISTS) | REMOVE_REPAIR


def _describe(s: Scenario) -> str:
    repair = s.scheme.credit_repair
    return (f"credit repair: {repair.share:.0%} of records repaired after "
            f"{repair.delay_days} days") if repair else ""


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    from scsim.text import known_names

    for k, b in enumerate(s.scheme.credit_repair.behaviours):
        if b not in s.behaviours:
            yield f"scheme.credit_repair.behaviours[{k}]", (
                f"unknown behaviour {b!r} (known: {known_names(list(s.behaviours))})")


MECHANISM = Mechanism(
    check=check,
    name="credit_repair",
    title="credit repair",
    what="a share of true records is set to be repaired",
    section="scheme.credit_repair",
    active=lambda s: s.scheme.credit_repair is not None,
    params=params,
    hooks={"true_scheduled": true_scheduled},
    purposes={"REPAIR": REPAIR},
    describe=_describe,
    inputs=("scheme.credit_repair.*",),
    schedulable=("scheme.credit_repair.share", "scheme.credit_repair.delay_days"),
    per_period=("share", "delay"),
)
