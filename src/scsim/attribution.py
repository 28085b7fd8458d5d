"""Where each benefit comes from: what is lost when one mechanism is switched off.

Paired with ``none``, a benefit of the ledger (offences prevented, judgments
performed under pressure) is the whole system's effect.  To say how much of
it each mechanism brings, the scenario is paired with itself less that one
mechanism: the benefit measured in that pair is what the mechanism adds given
all the others, per citizen under common random numbers, with its 95%
interval.  Its *share* is that over the whole effect.  Shares need not add up
to 1: sanctions that act through one response to their summed cost interact
(the response is not linear in the cost), and what is left over, or counted
twice, is the interaction, reported as such.

The mechanisms switched off are those a scenario can lose without the rest
becoming meaningless: the measures (the sanctions, rewards and custody
decisions), general deterrence, and public naming (``response.naming_*``).
The list itself, its scheme and the response are what the benefits are made
of, so they are not switched off.  Benefits that are levels (the run's own
count, such as deposits waived) come from the one mechanism that counts them
and are not attributed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scsim.ledger import build_ledger, count_interval_of, quantities
from scsim.mechanisms import BY_NAME, MECHANISMS
from scsim.quantities import PAIRED_DIFFERENCE
from scsim.scenario.load import ScenarioError, _set_dotted, validate_scenario
from scsim.scenario.model import Scenario
from scsim.scenario.pairing import no_system

NAMING = "naming"
"""The name under which public naming is switched off: a cost of the list, not a mechanism
module."""
NAMING_COST = "response.naming_yuan_per_listed_day"


@dataclass(frozen=True)
class Figure:
    value: int
    ci95: tuple[float, float] | None
    """95% interval of the total (the ledger's interval per 100,000, times citizens)."""


@dataclass(frozen=True)
class Part:
    """What one mechanism adds to each benefit, or why it could not be switched off."""

    name: str
    title: str
    adds: dict[str, Figure]
    skipped: str = ""


@dataclass(frozen=True)
class Attribution:
    benefits: tuple[str, ...]
    """The benefits attributed: paired differences against ``none``."""
    total: dict[str, Figure]
    """Each benefit against ``none``: the whole system's effect."""
    parts: tuple[Part, ...]

    def share(self, mechanism: str, benefit: str) -> float | None:
        """What the mechanism adds over the whole effect (None: no effect to share)."""
        part = next(p for p in self.parts if p.name == mechanism)
        whole = self.total[benefit].value
        if part.skipped or whole == 0:
            return None
        return part.adds[benefit].value / whole

    def known(self, mechanism: str, benefit: str) -> bool:
        """Whether what the mechanism adds is known to be other than 0: its interval excludes
        0 (or it is exactly 0, as what costs nothing adds)."""
        part = next(p for p in self.parts if p.name == mechanism)
        adds = part.adds[benefit]
        return adds.value == 0 or (adds.ci95 is not None
                                   and not adds.ci95[0] <= 0 <= adds.ci95[1])

    def to_json(self) -> dict[str, Any]:
        def figure(f: Figure) -> dict[str, Any]:
            return {"value": f.value, "ci95": None if f.ci95 is None else list(f.ci95)}

        return {
            "what": "each benefit against none, and what each mechanism adds to it: the "
                    "scenario paired with itself less that mechanism (paired differences, "
                    "common random numbers); shares need not add up to 1",
            "benefits": list(self.benefits),
            "total": {b: figure(f) for b, f in self.total.items()},
            "mechanisms": {
                p.name: ({"title": p.title, "skipped": p.skipped} if p.skipped else
                         {"title": p.title,
                          "adds": {b: figure(f) for b, f in p.adds.items()},
                          "share": {b: self.share(p.name, b) for b in self.benefits},
                          "known": {b: self.known(p.name, b) for b in self.benefits}})
                for p in self.parts},
        }


def switchable(s: Scenario) -> list[tuple[str, str]]:
    """(name, title) of what can be switched off in ``s``: its active measures, deterrence,
    and public naming where it costs something."""
    out = [(m.name, m.title) for m in MECHANISMS
           if m.active(s) and (m.section.startswith("measures.") or m.section == "deterrence")]
    if s.response is not None and s.response.naming_yuan_per_listed_day > 0:
        out.append((NAMING, "public naming"))
    return out


def without(s: Scenario, name: str) -> Scenario:
    """``s`` less one mechanism (its section gone, with the sources that name its values and
    the schedule's changes to them), or without public naming (its cost 0), validated
    again: ScenarioError when the rest cannot stand without it."""
    raw = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    section = NAMING_COST if name == NAMING else BY_NAME[name].section
    _set_dotted(raw, section, 0.0 if name == NAMING else None)

    def inside(path: str) -> bool:
        return path == section or path.startswith(section + ".")

    raw["sources"] = {p: v for p, v in raw.get("sources", {}).items() if not inside(p)}
    schedule = []
    for entry in raw.get("schedule", []):
        for key in ("set", "ramp"):
            if key in entry:
                entry[key] = {p: v for p, v in entry[key].items() if not inside(p)}
        entry["in_force"] = [p for p in entry.get("in_force", []) if not inside(p)]
        if entry.get("set") or entry.get("ramp") or entry["in_force"]:
            schedule.append(entry)
    raw["schedule"] = schedule
    raw["name"] = f"{s.name} without {name}"
    return validate_scenario(raw, f"{s.name} without {name}").scenario


def _figures(s: Scenario, counterfactual: Scenario, label: str,
             benefits: tuple[str, ...]) -> dict[str, Figure]:
    from scsim.engine.sim import simulate  # (here: the dashboard reads `switchable` without numba)

    overall = build_ledger(simulate(s, counterfactual=counterfactual), label)["overall"]
    out = {}
    for b in benefits:
        ci = count_interval_of(overall[b], s.population.size)
        out[b] = Figure(int(overall[b]["value"]), None if ci is None else (ci[0], ci[1]))
    return out


def attribute(s: Scenario, progress: Callable[[str, int, int], None] | None = None
              ) -> Attribution:
    """Each paired-difference benefit of ``s`` against ``none``, and what each mechanism that
    can be switched off adds to it (``progress(what, done, total)`` before each run)."""
    none = no_system(s)
    benefits = tuple(q.name for q in quantities(s, none)
                     if q.side == "benefit" and q.measure(True) == PAIRED_DIFFERENCE)
    parts_to_do = switchable(s)
    steps = 1 + len(parts_to_do)
    if progress is not None:
        progress("the whole system, against none", 0, steps)
    total = _figures(s, none, "none", benefits)
    parts = []
    for k, (name, title) in enumerate(parts_to_do, 1):
        if progress is not None:
            progress(f"without {title}", k, steps)
        try:
            less = without(s, name)
        except ScenarioError as exc:
            parts.append(Part(name, title, {}, skipped=f"cannot be switched off alone: {exc}"))
            continue
        parts.append(Part(name, title, _figures(s, less, f"without {name}", benefits)))
    return Attribution(benefits, total, tuple(parts))
