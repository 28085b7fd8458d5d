"""Compile (or load from numba's cache) the kernels before the clock starts."""

from __future__ import annotations

import datetime as dt

from scsim.engine.choice import kernel_kind, resolve
from scsim.engine.sim import simulate
from scsim.mechanisms import in_kernel
from scsim.scenario.load import validate_scenario
from scsim.scenario.model import Scenario

_TINY = {
    "name": "warm_up",
    "run": {"days": 2},
    "population": {"size": 4},
    "behaviours": {"a": {"daily_rate": 0.5}},
    "channels": {"c": {"records": ["a"],
                       "false_attribution": {"behaviour": "a", "daily_rate": 0.5}}},
    "scheme": {"start_score": 10, "min_score": 0, "max_score": 20, "points": {"a": -1},
               "blacklist_below": 10},
    "measures": {"travel_ban": {"daily_trip_rate": 0.5}},
}


def _tiny(s: Scenario) -> Scenario:
    """The same scenario for one neighbourhood and two days: the kernel's types are the same."""
    size = s.population.households.neighbourhood_size if s.population.households else 1
    burn_in = s.run.report_from
    run = s.run.model_copy(update={
        "days": 2, "end": None,
        "report_from": None if burn_in is None else s.run.start + dt.timedelta(days=1)})
    return s.model_copy(update={"run": run,
                                "population": s.population.model_copy(update={"size": size})})


_warmed: set[tuple] = set()


def warm_up(scenario: Scenario | None = None, counterfactual: Scenario | None = None,
            kernel: str = "auto") -> None:
    """Load the kernel a run of ``scenario`` (paired with ``counterfactual``) will use: the
    universal one, or the one specialised for its set of mechanisms
    (``scsim.engine.choice``); without a scenario, a four-citizen one's."""
    if scenario is None:
        scenario = validate_scenario(_TINY, "<warm-up>").scenario
    kind = resolve(kernel, scenario)  # (at the run's size, not the tiny one's)
    key = ("universal",) if kind == "universal" else (
        *(m.name for m in in_kernel(scenario, counterfactual)),
        *kernel_kind(scenario, counterfactual).values())
    if key not in _warmed:
        simulate(_tiny(scenario), counterfactual=None if counterfactual is None
                 else _tiny(counterfactual), kernel=kind)
        _warmed.add(key)
