"""Scenario files: the TOML schema and its validation."""

from scsim.scenario.load import LoadedScenario, ScenarioError, load_scenario, validate_scenario
from scsim.scenario.model import Scenario

__all__ = ["LoadedScenario", "Scenario", "ScenarioError", "load_scenario", "validate_scenario"]
