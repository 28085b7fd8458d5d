"""Explore: a preset's levers and uncertain values as controls, and the scenario they make.

The levers are what ``scsim attribute`` can switch off (the measures,
deterrence, public naming); the uncertain values are the preset's
ASSUMPTIONs, each within its stated range.  A scenario built here is an
ordinary scenario: validated like ``--set``, and run by the universal kernel,
so that switching a mechanism off never waits for a compile.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

MAX_POPULATION = 1_000_000
"""The most citizens a run launched from the browser may have (the command line has no cap)."""
PAIRINGS = ("none", "the preset as it is")


@dataclasses.dataclass(frozen=True)
class Lever:
    name: str
    title: str
    tip: str


@dataclasses.dataclass(frozen=True)
class Uncertain:
    path: str
    value: float
    low: float
    high: float
    integer: bool
    tip: str


@dataclasses.dataclass(frozen=True)
class Controls:
    preset: str
    population: int
    days: int
    levers: list[Lever]
    uncertain: list[Uncertain]
    description: str


def presets() -> dict[str, Path]:
    """The scenarios shipped with scsim, by file stem."""
    from scsim.bench import shipped_scenario

    demo = shipped_scenario("demo.toml")
    return {} if demo is None else {p.stem: p for p in sorted(demo.parent.glob("*.toml"))}


def controls(path: Path) -> Controls:
    """The preset's levers and ASSUMPTIONs, with what each is (ScenarioError if it cannot be
    read)."""
    from scsim.attribution import switchable
    from scsim.mechanisms import BY_NAME
    from scsim.scenario.load import load_scenario, value_at

    s = load_scenario(path).scenario
    levers = []
    for name, title in switchable(s):
        mechanism = BY_NAME.get(name)
        what = getattr(mechanism, "what", "") if mechanism is not None else ""
        levers.append(Lever(name, title, f"{title}: {what}" if what else title))
    uncertain = []
    for p, source in sorted(s.sources.items()):
        if not source.assumption or source.low is None or source.high is None:
            continue
        value = value_at(s, p)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        uncertain.append(Uncertain(
            p, float(value), float(source.low), float(source.high), isinstance(value, int),
            f"ASSUMPTION (no public figure), plausible from {source.low:g} to "
            f"{source.high:g}" + (f": {source.note}" if source.note else "")))
    return Controls(path.stem, s.population.size, s.run.days, levers, uncertain,
                    s.description)


@dataclasses.dataclass(frozen=True)
class Choice:
    """What the Explore page asks for."""

    preset: Path
    population: int
    days: int | None
    off: tuple[str, ...] = ()
    values: tuple[tuple[str, float], ...] = ()
    pairing: str = "none"


class ExploreError(ValueError):
    """A choice that cannot run; the message says why, for a person."""


def build(choice: Choice) -> tuple[Any, Any]:
    """(the loaded scenario, its counterfactual) of a choice; ExploreError if it cannot run."""
    from scsim.attribution import without
    from scsim.scenario.load import ScenarioError, load_scenario, validate_scenario
    from scsim.scenario.pairing import Counterfactual, no_system, world_differences

    if not 1 <= choice.population <= MAX_POPULATION:
        raise ExploreError(f"A run from the browser has at most {MAX_POPULATION:,} citizens "
                           f"(asked: {choice.population:,}); for more, use scsim run on the "
                           "command line, which has no cap.")
    if choice.pairing not in PAIRINGS:
        raise ExploreError(f"unknown pairing {choice.pairing!r}")
    world = {"population.size": choice.population}
    if choice.days is not None:
        world["run.days"] = choice.days
    try:
        preset = load_scenario(choice.preset, world)
        loaded = load_scenario(choice.preset, world | dict(choice.values))
        s = loaded.scenario
        for name in choice.off:
            s = without(s, name)
        loaded = dataclasses.replace(
            validate_scenario(s.model_dump(mode="json", by_alias=True), loaded.source),
            declared_size=loaded.declared_size)  # (a sample of a larger scenario stays one)
    except ScenarioError as exc:
        raise ExploreError("; ".join(exc.lines())) from None
    if choice.pairing == "none":
        cf = no_system(loaded.scenario)
        from scsim.scenario.load import scenario_sha256

        return loaded, Counterfactual(cf, "none", scenario_sha256(cf))
    problems = world_differences(loaded.scenario, preset.scenario)
    if problems:
        raise ExploreError(f"This choice changes the world ({problems[0][0]}: a behaviour or "
                           "the population), so it cannot be paired with the preset as it is: "
                           "both sides must share every random draw. Pair it with none.")
    return loaded, Counterfactual(preset.scenario, str(choice.preset), preset.sha256)
