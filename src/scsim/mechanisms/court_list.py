"""The court list: holding an active record of a listing behaviour lists a citizen.

China's list of dishonest judgment defaulters lists a debtor on a court
record, whatever any score says, until the record is removed (performed,
expired, repaired or overturned).  ``scheme.blacklist_behaviours`` names the
behaviours whose records list; a false record claiming one lists too.  The
module counts each member's active listing records and lists the member
while there is one; the score threshold (``scheme.blacklist_below``) is the
kernel's own.  It marks its records when they are made, before any removal
is decided (``order``), so that their removal unlists.  Draws nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from scsim.mechanisms.base import Mechanism, S

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import FLAG_LISTS
    from scsim.scenario.model import Scenario


class Params(NamedTuple):
    lists: np.ndarray
    """(behaviours,) int64 1 if an active record of it lists."""
    false_lists: np.ndarray
    """(false-record streams,) int64 1 if the behaviour the stream claims lists."""


def params(s: Scenario, tables) -> Params:
    listed = set(s.scheme.blacklist_behaviours)
    streams = [c.false_attribution for c in s.channels.values() if c.false_attribution]
    return Params(np.array([b in listed for b in s.behaviours], dtype=np.int64),
                  np.array([fa.behaviour in listed for fa in streams], dtype=np.int64))


def member_started(m, state) -> None:
    state[m, S.list_records] = 0


def true_scheduled(P: Params, b, flags) -> None:
    if P.lists[b]:
        flags |= FLAG_LISTS


def false_scheduled(P: Params, f, flags) -> None:
    if P.false_lists[f]:
        flags |= FLAG_LISTS


def counted(m, state, flags) -> None:
    """A listing record, true or false, now counts: the member holds one more."""
    if flags & FLAG_LISTS:
        state[m, S.list_records] += 1


def record_removed(m, state, flags) -> None:
    if flags & FLAG_LISTS:
        state[m, S.list_records] -= 1


def listing(m, state, now_blacklisted) -> None:
    if state[m, S.list_records] > 0:
        now_blacklisted = True  # noqa: F841  (the kernel's)


def check(s: Scenario) -> Iterator[tuple[str, str]]:
    from scsim.text import known_names

    for k, b in enumerate(s.scheme.blacklist_behaviours):
        if b not in s.behaviours:
            yield f"scheme.blacklist_behaviours[{k}]", (
                f"unknown behaviour {b!r} (known: {known_names(list(s.behaviours))})")


MECHANISM = Mechanism(
    check=check,
    name="court_list",
    title="court list",
    what="an active record of a listing behaviour lists the member",
    plan={"true_scheduled": ("a record of a listing behaviour is marked as listing", ()),
          "false_scheduled": ("so is a false record claiming one", ()),
          "true_counted": ("a listing record that counts is held", ()),
          "false_counted": ("so is a false one", ()),
          "record_removed": ("a removed listing record is no longer held", ()),
          "listing": ("a member holding a listing record is listed, whatever the score", ())},
    section="scheme.blacklist_behaviours",
    active=lambda s: bool(s.scheme.blacklist_behaviours),
    params=params,
    hooks={"member_started": member_started, "true_scheduled": true_scheduled,
           "false_scheduled": false_scheduled, "true_counted": counted,
           "false_counted": counted, "record_removed": record_removed,
           "listing": listing},
    state=("list_records",),
    inputs=("scheme.blacklist_behaviours",),
    order=-2,
)
