"""The phase plan of a simulated day: phases in order, the mechanisms at each, their draws.

This is the order in which ``kernels/neighbourhood.py`` treats a member's
day (ODD section 3 is checked against it by a test), and for a given
scenario which mechanisms are active. Each mechanism names the purposes of
the counter-based random numbers it draws (``scsim.rng.counter``, or its
module's), so a reader can see which draws a change of policy can and cannot
touch.  The mechanisms of ``scsim.mechanisms`` take their places from the
sites their hooks are spliced into (``Site`` below), so a new module appears
in the plan by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scsim.mechanisms import MECHANISMS
from scsim.scenario.model import Scenario


@dataclass(frozen=True)
class Mechanism:
    name: str
    what: str
    purposes: tuple[str, ...]
    """Random-number purposes it draws from (names of scsim.rng.counter constants, or of its
    module's)."""
    active: Callable[[Scenario], bool]
    module: str | None = None
    """The ``scsim.mechanisms`` module it is, if any."""
    site: str | None = None
    """The kernel site its hooks are spliced into, for a module."""


@dataclass(frozen=True)
class Site:
    """A site of the kernel template (``# @hook NAME``): the modules hooked there, in order."""

    name: str


def _at(site: Site) -> tuple[Mechanism, ...]:
    steps = []
    for m in MECHANISMS:
        if site.name in m.hooks:
            what, purposes = m.plan.get(site.name, (m.what, tuple(m.purposes)))
            steps.append(Mechanism(m.title, what, purposes, m.active, m.name, site.name))
    return tuple(steps)


@dataclass(frozen=True)
class Phase:
    name: str
    mechanisms: tuple[Mechanism, ...]

    def __post_init__(self) -> None:
        expanded = []
        for entry in self.mechanisms:
            expanded.extend(_at(entry) if isinstance(entry, Site) else (entry,))
        object.__setattr__(self, "mechanisms", tuple(expanded))


def _any_false(s: Scenario) -> bool:
    return any(c.false_attribution is not None for c in s.channels.values())


PLAN: tuple[Phase, ...] = (
    Phase("Life and periods", (
        Mechanism("turnover", "a death ends the listing and every sanction; a child comes of age "
                  "as a scored adult; an adult becomes an elder (gaps restart); births to "
                  "adults are drawn when the neighbourhood is set up", ("LIFE", "BIRTH"),
                  lambda s: s.population.turnover is not None),
        Site("died"),
        Site("came_of_age"),
        Mechanism("schedule", "on the first day of a period that changes the member's class, "
                  "its candidate gaps restart at the new rates (ODD 7.4)", ("GAP",),
                  lambda s: bool(s.schedule)),
        Mechanism("burn-in", "on run.report_from an ongoing listing is split and the "
                  "member's outcomes start from zero", (),
                  lambda s: s.run.report_from is not None),
        Site("period_started"),
        Site("timer"),
    )),
    Phase("Behaviour", (
        Mechanism("candidate events", "each behaviour fires at its highest reachable rate; the "
                  "gap to the next candidate day is geometric", ("GAP", "SELECT"),
                  lambda s: True),
        Mechanism("thinning", "a candidate is committed at its actual rate (income penalty, "
                  "adaptation, deterrence)", ("ACCEPT",), lambda s: True),
        Site("rate"),
        Site("thinning"),
    )),
    Phase("Observation", (
        Site("committed"),
        Mechanism("recording", "the behaviour's channel records it with coverage x detection",
                  ("RECORD",), lambda s: bool(s.channels)),
        Site("recorded"),
        Mechanism("adaptation", "a recorded event multiplies the member's rate of it", (),
                  lambda s: bool(s.adaptation.rate_factor_when_recorded)),
        Site("true_scheduled"),
        Site("true_counted"),
    )),
    Phase("False attribution", (
        Mechanism("false records", "a channel attributes an event the member did not commit",
                  ("GAP", "SELECT"), _any_false),
        Site("false_attributed"),
        Site("false_scheduled"),
        Site("false_counted"),
        Site("false_recorded"),
    )),
    Phase("Removals", (
        Mechanism("removals due", "expired, repaired and successfully appealed records are "
                  "removed and their points restored", (),
                  lambda s: (s.scheme.retention_days is not None
                             or s.scheme.credit_repair is not None
                             or s.scheme.judgments is not None
                             or s.scheme.appeals is not None)),
        Site("record_removed"),
    )),
    Phase("Scoring", (
        Mechanism("points and clipping", "the day's points are summed, the score clipped once, "
                  "the grade follows", (), lambda s: bool(s.scheme.points)),
        Site("grade_changed"),
    )),
    Phase("Measures", (
        Mechanism("blacklist", "listed while the score is below the threshold", (),
                  lambda s: s.scheme.blacklist_below is not None),
        Site("listing"),
        Site("listed"),
        Site("spell_closed"),
        Site("neighbourhood_closed"),
    )),
)
SET_UP = Mechanism("traits", "group, income, region, age band, household and propensity, "
                   "derived from the seed and the id", ("TRAIT",), lambda s: True)
"""Drawn once per member when its neighbourhood is set up, before day 1."""


def plan_lines(s: Scenario) -> list[str]:
    """The plan in words for one scenario: 'on' or 'off' at every site."""
    lines = [f"set-up: [on ] {SET_UP.name}: {SET_UP.what} (draws: {', '.join(SET_UP.purposes)})"]
    for k, phase in enumerate(PLAN, 1):
        lines.append(f"{k}. {phase.name}")
        for m in phase.mechanisms:
            state = "on " if m.active(s) else "off"
            notes = [f"draws: {', '.join(m.purposes)}"] if m.purposes else []
            if m.module:
                notes.append(f"module {m.module}, at {m.site}")
            notes = f" ({'; '.join(notes)})" if notes else ""
            lines.append(f"   [{state}] {m.name}: {m.what}{notes}")
    return lines
