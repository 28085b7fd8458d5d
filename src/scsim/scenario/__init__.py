"""Scenario files: the TOML schema and its validation.

The names below are loaded on first use, so that ``scsim.scenario.fields``
can be imported by the mechanism modules (whose sections the schema uses)
without importing the schema itself.
"""

from __future__ import annotations

import importlib

_WHERE = {"LoadedScenario": "load", "ScenarioError": "load", "load_scenario": "load",
          "validate_scenario": "load", "Scenario": "model"}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(name)
