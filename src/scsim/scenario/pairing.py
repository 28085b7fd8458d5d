"""Pairing a scenario with its counterfactual: the same world, another system.

Common random numbers need the same world on both sides: the same population,
behaviours, horizon and seed.  Everything else (channels, scheme, measures,
adaptation, deterrence) may differ; that difference is what the ledger
measures.
"""

from __future__ import annotations

from dataclasses import dataclass

from scsim.scenario.model import Adaptation, Measures, Scenario
from scsim.scenario.schedule import without_policy, world_schedule

WORLD_FIELDS = ("population", "behaviours", "run")


@dataclass(frozen=True)
class Counterfactual:
    """The scenario a run is paired with, and how the user named it."""

    scenario: Scenario
    label: str
    """'none' (the same world without the system) or the scenario file's path."""
    sha256: str


def no_system(s: Scenario) -> Scenario:
    """The same world with no system: nothing is recorded, nobody is sanctioned or deterred."""
    scheme = s.scheme.model_copy(
        update={
            "points": {},
            "blacklist_below": None,
            "blacklist_behaviours": [],
            "retention_days": None,
            "appeals": None,
            "credit_repair": None,
            "human_review": None,
            "judgments": None,
        }
    )
    return s.model_copy(
        update={
            "name": f"{s.name} without the system",
            "channels": {},
            "scheme": scheme,
            "pilots": {name: p.model_copy(update={"points": {}}) for name, p in s.pilots.items()},
            "measures": Measures(),
            "adaptation": Adaptation(),
            "deterrence": None,
            "schedule": without_policy(s),  # the world's changes stay, the system's go
            # the published figures are the system's (its listings, its camps): none is this
            # world's to reproduce, and the columns they name are not in its daily table
            "calibration": None,
            # only the world's sources still name values of this scenario
            "sources": {path: source for path, source in s.sources.items()
                        if path.split(".")[0] in WORLD_FIELDS},
        }
    )


def _pilot_places(s: Scenario) -> dict[str, tuple[str, float]]:
    """Where each pilot is: which citizens belong to it is part of the world."""
    return {name: (p.region, p.share_of_region) for name, p in s.pilots.items()}


def world_differences(run: Scenario, counterfactual: Scenario) -> list[tuple[str, str]]:
    """(field, reason) for each part of the world that differs between the two (the world's
    scheduled changes included)."""
    def world(s: Scenario) -> dict:
        dump = s.model_dump(mode="json", include=set(WORLD_FIELDS))
        dump["run"].pop("end")  # follows from start and days
        return dump

    mine, theirs = world(run), world(counterfactual)
    problems = [
        (name, "differs from the run's; a counterfactual must describe the same world "
         "(population, behaviours, run) so that both sides share every random draw")
        for name in WORLD_FIELDS if mine[name] != theirs[name]
    ]
    if _pilot_places(run) != _pilot_places(counterfactual):
        problems.append(("pilots", "lie elsewhere than the run's (their regions and shares are "
                                   "part of the world, which both sides of a pair share); a "
                                   "counterfactual may change a pilot's points, not its place"))
    if world_schedule(run) != world_schedule(counterfactual):
        problems.append(("schedule", "changes the world (behaviours) differently from the "
                                     "run's; both sides of a pair must share the world's "
                                     "schedule"))
    return problems
