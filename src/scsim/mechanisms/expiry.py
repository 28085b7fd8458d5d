"""Record expiry: every record is removed ``scheme.retention_days`` after it is made.

Its points are restored then (clipped), and a listing record stops listing.
Another removal decided at the record (credit repair, a successful appeal)
replaces the expiry when it comes strictly earlier, so expiry is decided
first (``order``).  Draws nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from scsim.mechanisms.base import Mechanism

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import REMOVE_EXPIRE
    from scsim.scenario.model import Scenario


class Params(NamedTuple):
    days: np.ndarray
    """(periods,) days a record made in the period lasts; 0: records never expire."""


def params(s: Scenario, tables) -> Params:
    return Params(s.scheme.retention_days or 0)


def scheduled(P: Params, k, day, due, flags) -> None:
    """A record, true or false, is set to expire (by the retention of the day it is made)."""
    if P.days[k] > 0 and day + P.days[k] < due:
        due = day + P.days[k]  # (the kernel's due and flags)
        flags |= REMOVE_EXPIRE


def _describe(s: Scenario) -> str:
    days = s.scheme.retention_days
    return f"records expire after {days:,} days" if days else ""


MECHANISM = Mechanism(
    name="expiry",
    title="record expiry",
    what="records are set to expire",
    plan={"true_scheduled": ("a true record is set to expire", ()),
          "false_scheduled": ("a false record is set to expire", ())},
    section="scheme.retention_days",
    active=lambda s: s.scheme.retention_days is not None,
    params=params,
    hooks={"true_scheduled": scheduled, "false_scheduled": scheduled},
    describe=_describe,
    inputs=("scheme.retention_days",),
    schedulable=("scheme.retention_days",),
    per_period=("days",),
    order=-1,
)
