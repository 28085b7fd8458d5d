"""The universal kernel gives what the specialised ones give, bit for bit, and compiles once.

The universal kernel holds every mechanism and every kind of run; a scenario
switches them by data (a mechanism it lacks gets the parameters that make its
hooks do nothing; turnover and pilots are read from the tables).  So the
choice of kernel may change speed, never results: for every preset, unpaired
and paired with ``none``, every output of a run is compared exactly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from scsim.engine.choice import plan_kernel, resolve
from scsim.engine.sim import simulate
from scsim.engine.trace import Tracer
from scsim.kernels.cache import CACHE_DIR
from scsim.kernels.generate import universal_kernel
from scsim.scenario.load import load_scenario
from scsim.scenario.pairing import no_system
from scsim.story import tell

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
PRESETS = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
SMALL = 2_000
"""Citizens per preset: enough for every mechanism of each to act (checked below)."""
NOT_COMPARED = {"timings", "kernel", "tables"}
"""Timings differ; ``kernel`` names which ran; the tables carry the kind the universal
kernel reads (every array in them is compared through the outputs)."""


def _small(name: str):
    s = load_scenario(SCENARIOS / f"{name}.toml").scenario
    size = SMALL
    if s.population.households is not None:  # whole neighbourhoods
        unit = s.population.households.neighbourhood_size
        size = -(-SMALL // unit) * unit
    return s.model_copy(update={"population": s.population.model_copy(update={"size": size})})


def _differences(a, b, path: str = "result") -> list[str]:
    """Where two results differ: every array exactly (shape, type and values)."""
    if dataclasses.is_dataclass(a):
        return [d for f in dataclasses.fields(a) if f.name not in NOT_COMPARED
                for d in _differences(getattr(a, f.name), getattr(b, f.name),
                                      f"{path}.{f.name}")]
    if isinstance(a, np.ndarray):
        same = (a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
        return [] if same else [path]
    return [] if a == b else [path]


@pytest.mark.parametrize("paired", [False, True], ids=["unpaired", "paired"])
@pytest.mark.parametrize("name", PRESETS)
def test_universal_equals_specialised_for_every_preset(name, paired):
    s = _small(name)
    cf = no_system(s) if paired else None
    universal = simulate(s, counterfactual=cf, kernel="universal")
    specialised = simulate(s, counterfactual=cf, kernel="specialised")
    assert (universal.kernel, specialised.kernel) == ("universal", "specialised")
    assert _differences(universal, specialised) == []
    # (a comparison of runs where nothing happens would prove nothing)
    assert universal.run.flows.sum() > 0 and universal.ledger_sum.any()


def test_one_signature_whatever_the_scenario():
    """Every preset, paired or not, calls the universal kernel with the same types: it
    compiles once, and a new scenario means no compile."""
    kernel = universal_kernel()
    for name in PRESETS:
        s = _small(name)
        simulate(s, kernel="universal")
        simulate(s, counterfactual=no_system(s), kernel="universal")
    assert len(kernel.simulate_worker.signatures) == 1
    # no literal-boolean twin of simulate_batch: one compiled version in the cache (the
    # dispatcher itself lists none when its caller was loaded from the cache)
    compiled = list(Path(CACHE_DIR).rglob(f"{kernel.__name__}.simulate_batch-*.nbc"))
    assert len(compiled) == 1, compiled


def test_a_trace_in_either_kernel_tells_the_same_story():
    s = _small("national")
    cf = no_system(s)
    stories = [tell(Tracer(s, cf, kernel=k).trace(17)) for k in ("universal", "specialised")]
    assert stories[0] == stories[1]


def test_auto_takes_the_universal_kernel_below_the_threshold():
    from scsim.engine import UNIVERSAL_BELOW

    s = _small("r0")
    at = s.model_copy(update={"population": s.population.model_copy(
        update={"size": UNIVERSAL_BELOW})})
    assert resolve("auto", s) == "universal" and resolve("auto", at) == "specialised"
    assert resolve("specialised", s) == "specialised"
    assert plan_kernel(s).kind == "universal"
    with pytest.raises(ValueError, match="kernel must be one of auto, universal, specialised"):
        resolve("fast", s)
