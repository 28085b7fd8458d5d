"""Human review: a person checks each record before it counts.

A false record of stream f is caught and discarded with probability
``false_record_catch`` (draw (citizen, REVIEW, f, day)); true records all
pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from scsim.mechanisms.base import FLOW, Mechanism
from scsim.scenario.fields import Probability, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import uniform
    from scsim.scenario.model import Scenario

REVIEW = 9
"""Random-number purpose: does human review catch a false record (stream f, counter = day)."""


class HumanReview(Strict):
    """A person checks each record before it counts."""

    false_record_catch: Probability
    """Share of false records caught and discarded by the review (true records all pass)."""


class Params(NamedTuple):
    catch: np.ndarray
    """(periods,) share of false records caught in each period."""


def params(s: Scenario, tables) -> Params:
    review = s.scheme.human_review
    return Params(review.false_record_catch if review else 0.0)


def false_attributed(P: Params, g, f, k, day, key, flows, caught) -> None:
    if not caught and P.catch[k] > 0.0 and uniform(key, REVIEW, f, day) < P.catch[k]:
        flows[day, g, FLOW.false_records_caught_by_review] += 1
        caught = True  # (the kernel's: the record is discarded)


def _describe(s: Scenario) -> str:
    review = s.scheme.human_review
    return (f"human review catches {review.false_record_catch:.0%} of false records"
            if review else "")


MECHANISM = Mechanism(
    name="human_review",
    title="human review",
    what="a share of false records is caught before it counts",
    section="scheme.human_review",
    active=lambda s: s.scheme.human_review is not None,
    params=params,
    hooks={"false_attributed": false_attributed},
    purposes={"REVIEW": REVIEW},
    describe=_describe,
    inputs=("scheme.human_review.*",),
    schedulable=("scheme.human_review.false_record_catch",),
    per_period=("catch",),
)
