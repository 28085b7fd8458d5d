"""Shared fixtures: the repository's scenarios and small runs of them."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from scsim.engine.sim import SimulationResult, simulate
from scsim.results import daily_table
from scsim.scenario import Scenario, load_scenario

# Experiments' embedded clusters start one worker process by default here (each costs a
# few CPU-seconds to start, and the suite starts dozens): results never depend on the count,
# which the tests that name --workers check.
os.environ.setdefault("SCSIM_WORKERS", "1")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
R0 = SCENARIOS / "r0.toml"


@pytest.fixture(scope="session", autouse=True)
def _one_embedded_cluster_per_test_process():
    """The experiments run in a test process share its embedded cluster (each stopped at the
    end of the session), as a notebook's would: starting one per experiment cost the suite
    minutes.  (``tests/test_cluster_security.py`` tests the sharing itself.)"""
    from scsim.experiments.cluster import embedded_clusters_kept

    with embedded_clusters_kept():
        yield


def r0(population: int, seed: int = 1, days: int = 365) -> Scenario:
    return load_scenario(
        R0, {"population.size": population, "run.seed": seed, "run.days": days}
    ).scenario


@pytest.fixture(scope="session")
def r0_200k() -> tuple[SimulationResult, pa.Table]:
    """R0 at N = 200,000 over 365 days (about 0.1 s once compiled)."""
    result = simulate(r0(200_000, seed=2026))
    return result, daily_table(result)
