"""The lean kernel (``simulate_singles``): taken only where it may be, and bit-identical to
the general one (``simulate_batch``) wherever it is taken."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import scsim.engine.choice as choice
from scsim.engine.choice import kernel_kind
from scsim.engine.sim import simulate
from scsim.engine.tables import compile_tables
from scsim.kernels.generate import HookError, is_lean, kernel_for, kernel_source
from scsim.mechanisms import BY_NAME, MECHANISMS, in_kernel

from conftest import r0
from mechanism_base import scenario

GRADES = [{"name": "high", "min_score": 1000}, {"name": "mid", "min_score": 995},
          {"name": "low", "min_score": 0}]


def _general(monkeypatch) -> None:
    """Runs from here on take the general kernel (as before the lean one existed)."""
    kind = choice.kernel_kind
    monkeypatch.setattr(choice, "kernel_kind", lambda *a: {**kind(*a), "lean": False})


def _outputs(result) -> dict[str, np.ndarray]:
    out = {"flows": result.run.flows, "levels": result.run.levels,
           "histogram": result.run.score_histogram, "ledger": result.ledger_sum,
           "squares": result.ledger_sum_squares, "cells": result.cell_sum,
           "final_score": result.final_score, "final_false": result.final_false_records}
    out.update({f"examples/{q}": np.array(ids) for q, ids in result.examples.items()})
    return out


def test_r0_takes_the_lean_kernel():
    s = r0(1000)
    assert kernel_for(in_kernel(s), **kernel_kind(s)).LEAN


@pytest.mark.parametrize("why", ["households", "schedule", "another site", "core outcome"])
def test_the_lean_kernel_is_refused_where_it_lacks_something(why):
    travel_ban = BY_NAME["travel_ban"]
    kind = {"scheduled": False, "turnover": False, "pilots": False, "single": True}
    mechanisms = [travel_ban]
    if why == "households":
        kind["single"] = False
    elif why == "schedule":
        kind["scheduled"] = True
    elif why == "another site":
        mechanisms.append(BY_NAME["speech_suspension"])
    else:
        def ledger(m, g, run, ledger, examples, citizen):  # a quantity of a core outcome
            _tally(ledger, examples, citizen, g, 0, run[m, OUT_OFFENCES])  # noqa: F821
        mechanisms = [replace(travel_ban, hooks={"ledger": ledger})]
    assert is_lean([travel_ban], **{**kind, "single": True, "scheduled": False})
    assert not is_lean(mechanisms, **kind)


def test_a_spell_hook_cannot_read_the_state_the_lean_kernel_keeps_in_locals():
    """The site where a spell closes offers no ``state`` (in either kernel), so no module can
    reach the lean kernel with a spell hook that reads it."""
    def spell_closed(P, state, m):
        pass
    with pytest.raises(HookError, match="'state'"):
        kernel_source([replace(BY_NAME["travel_ban"], hooks={"spell_closed": spell_closed})])


def test_the_mechanisms_a_lean_kernel_can_have_are_those_tested_here():
    """A new module that qualifies must join the "busy" case below (the lean kernel skips the
    tallies of a citizen without a listing or a false record:
    that case shows its quantities are unchanged by it)."""
    kind = {"scheduled": False, "turnover": False, "pilots": False, "single": True}
    lean = {m.name for m in MECHANISMS if is_lean([m], **kind)}
    assert lean == {"travel_ban", "loan_denial", "rail_ban"}


# many false records, listings that end and start again, scores clipped at both ends,
# grades (their transitions), adaptation, and three mechanisms closing spells
BUSY = dict(
    scheme__grades=GRADES, scheme__max_score=1004, scheme__min_score=960,
    adaptation={"rate_factor_when_recorded": {"speech": 0.5, "jaywalk": 0.8}},
    behaviours__good={"kind": "good_deed", "daily_rate": 0.01},
    channels__registry={"records": ["good"], "detection": 0.7},
    scheme__points={"jaywalk": -5, "speech": -5, "debt": -50, "good": 3},
    measures__loan_denial={"daily_application_rate": 0.03},
    measures__rail_ban={"daily_trip_rate": 0.02})
CASES = {
    # R0 as specified: few false records, a travel ban
    "r0": lambda: r0(30_000, seed=5),
    "busy": lambda: scenario(**BUSY),
    # no false attribution at all
    "no false records": lambda: scenario(channels__cameras__false_attribution=None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_lean_path_equals_the_general_one(case, monkeypatch):
    """Inside the universal kernel, which holds both paths and reads from its tables which
    to take: no kernel is compiled for this comparison.  (The next test holds a specialised
    lean kernel equal to the universal kernel's lean path.)"""
    from scsim.engine.choice import plan_kernel

    s = CASES[case]()
    assert plan_kernel(s, kernel="universal").lean  # (else this compares nothing)
    lean = simulate(s, chunk_size=7_001, kernel="universal")
    _general(monkeypatch)
    assert not plan_kernel(s, kernel="universal").lean
    general = simulate(s, chunk_size=7_001, kernel="universal")
    a, b = _outputs(lean), _outputs(general)
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    # the comparison is not empty: events happened, and the ledger holds quantities
    assert lean.run.flows.sum() > 0 and lean.ledger_sum.sum() > 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_universal_kernel_takes_the_lean_path_where_a_specialised_one_would(case):
    """The universal kernel reads from its tables whether a run takes ``simulate_singles``
    (every other mechanism's hooks there at the values that make them do nothing).

    Every case here runs R0's specialised kernel (the travel ban alone, which
    ``tests/compile_kernels.py`` compiles for the r0 preset): the busy case without its loan
    denial and rail ban, whose lean paths the test above holds inside the universal kernel.
    A specialised kernel of the three would be compiled for this test alone (about a
    CPU-minute of the clean-clone suite), and the other two are the travel ban's code
    (``mechanisms/refusals.py``) with other purposes of draws."""
    from scsim.engine.choice import plan_kernel

    s = (scenario(**{**BUSY, "measures__loan_denial": None, "measures__rail_ban": None})
         if case == "busy" else CASES[case]())
    assert [m.name for m in in_kernel(s)] == ["travel_ban"]
    plan = plan_kernel(s, kernel="universal")
    assert plan.lean and plan.tables(compile_tables(s)).lean
    assert kernel_for(in_kernel(s), **kernel_kind(s)).LEAN  # (the specialised one is lean)
    universal = simulate(s, chunk_size=7_001, kernel="universal")
    lean = simulate(s, chunk_size=7_001, kernel="specialised")
    a, b = _outputs(universal), _outputs(lean)
    assert a.keys() == b.keys()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
