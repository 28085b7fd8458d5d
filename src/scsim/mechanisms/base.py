"""What a mechanism module declares: its section, its parameters, its outputs, its hooks.

A mechanism (a sanction, a reward, a safeguard) is one module of this
package holding one ``MECHANISM``: the scenario section it reads, how that
section compiles into the numbers the kernel needs (a ``NamedTuple``), the
outputs it adds by name (daily flows, per-citizen outcomes, ledger
quantities), the sentences a life story tells of them, a line of the
scenario's description, the random-number purposes it draws from, and its
*hooks*: plain functions whose bodies ``scsim.kernels.generate`` splices into
the kernel at fixed sites of the phase plan.  A mechanism no scenario of a
run uses is not in that run's kernel at all, so it costs nothing.

Inside a hook, ``P`` is the mechanism's parameters for the variant being
simulated, and ``FLOW.name``, ``OUT.name``, ``Q.name`` and ``LEVEL.name`` are the
columns of its declared flows, outcomes, quantities and levels (the generator replaces them by
numbers); any other name is a parameter of the hook (a variable of the
kernel at that site, see ``SITES``), a name of the kernel module, or a name
of the mechanism's own module.  A helper of another mechanism (``custody.admit``)
may be called where that mechanism is in every kernel this one is in, and
``if ACTIVE.name:`` keeps code for the kernels that hold mechanism ``name``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scsim.quantities import Quantity
    from scsim.scenario.model import Scenario


_EVENT = frozenset({"m", "g", "c", "b", "k", "kind", "day", "key", "state", "flows",
                    "outcomes", "levels", "horizon", "ob", "t"})
SITES: dict[str, tuple[str, frozenset[str]]] = {
    "member_started": ("Set-up", frozenset({"m", "g", "c", "key", "state", "risk", "t"})),
    "rate": ("Behaviour", _EVENT | {"multiplier", "p"}),
    "thinning": ("Behaviour", _EVENT | {"risk", "p"}),
    "committed": ("Observation", _EVENT | {"blocked"}),
    "recorded": ("Observation", _EVENT | {"risk"}),
    "false_recorded": ("False attribution", frozenset({
        "m", "g", "c", "f", "k", "day", "key", "state", "risk", "flows", "outcomes", "ob",
        "horizon", "levels", "t"})),
    "true_scheduled": ("Observation", _EVENT | {"due", "flags"}),
    "true_counted": ("Observation", _EVENT | {"due", "flags"}),
    "record_removed": ("Removals", frozenset({"m", "g", "day", "state", "flows", "flags",
                                              "outcomes", "ob", "column", "exit_column"})),
    "listing": ("Measures", frozenset({"m", "g", "c", "k", "day", "state", "new_score",
                                       "now_blacklisted", "exit_column", "t"})),
    "false_counted": ("False attribution", frozenset({
        "m", "g", "c", "f", "k", "day", "key", "state", "flows", "outcomes", "ob", "t", "due",
        "flags"})),
    "false_attributed": ("False attribution", frozenset({
        "m", "g", "c", "f", "k", "day", "key", "state", "flows", "outcomes", "ob", "t", "caught"})),
    "false_scheduled": ("False attribution", frozenset({
        "m", "g", "c", "f", "k", "day", "key", "state", "flows", "outcomes", "ob", "t", "due",
        "flags"})),
    "listed": ("Measures", frozenset({"m", "g", "c", "k", "day", "state", "risk", "levels", "flows",
                                      "outcomes", "horizon", "ob", "members", "n_members",
                                      "seed_key", "interacting"})),
    "delisted": ("Measures", frozenset({"m", "g", "c", "k", "day", "state", "levels", "flows",
                                        "outcomes", "horizon", "ob", "members", "n_members"})),
    "spell_closed": (
        "Measures",
        frozenset({"m", "ob", "g", "c", "key", "first", "last_day", "outcomes", "flows", "t"}),
    ),
    "neighbourhood_closed": (
        "Measures",
        frozenset({"size", "ob", "seed_key", "horizon", "state", "outcomes", "spells",
                   "spell_lo", "spell_hi", "flows", "t"}),
    ),
    "grade_changed": (
        "Scoring",
        frozenset({"m", "g", "c", "k", "day", "grade", "new_grade", "state", "levels", "flows",
                   "t"}),
    ),
    "ledger": ("Comparison", frozenset({"m", "g", "run", "counterfactual", "ledger",
                                        "paired", "examples", "citizen"})),
    "period_started": ("Set-up", frozenset({"m", "g", "c", "k", "day", "key", "state", "levels",
                                            "flows", "outcomes", "ob", "horizon", "t"})),
    "died": ("Turnover", frozenset({"m", "g", "c", "k", "day", "state", "levels", "flows",
                                    "outcomes", "ob", "horizon", "t"})),
    "timer": ("Set-up", frozenset({"m", "g", "c", "k", "day", "key", "state", "levels",
                                   "flows", "outcomes", "ob", "horizon", "t"})),
    "came_of_age": ("Turnover", frozenset({"m", "g", "c", "day", "state", "levels", "horizon",
                                           "t"})),
}
"""Where hooks can be spliced: site -> (phase of the day, variables of the kernel there).

Wherever a site has ``day``, ``k`` is the period of the schedule in force on it (0 without a
schedule): a parameter with a period axis (``Mechanism.per_period``) is read as ``P.x[k]``.

* ``member_started``: scored member ``m`` is set up before day 1 (set its ``state``).
* ``rate``: candidate event ``b`` of member ``m`` will be committed with probability ``p``
  (its actual rate over its candidate rate, times adaptation): set another rate.
* ``thinning``: candidate event ``b`` of member ``m`` will be committed with probability
  ``p`` (scale it to deter it).
* ``committed``: member ``m`` committed behaviour ``b`` (of ``kind``: OFFENCE, SPEECH or
  GOOD_DEED) on ``day``; setting ``blocked = True`` keeps it from being recorded.
* ``recorded``: that event was recorded (a true record now counts or is scheduled).
* ``true_scheduled``: a true record of ``b`` is made on ``day``; it will be removed on
  ``due`` (NEVER: not at all), for the reason in ``flags`` (REMOVE_*); a removal on ``day``
  itself means it never counts.  Set both to remove it earlier.
* ``false_attributed``: a false record of stream ``f`` is attributed; setting ``caught =
  True`` discards it before it counts.
* ``false_scheduled``: as ``true_scheduled``, for a false record that was not caught.
* ``true_counted`` / ``false_counted``: that record now counts against the member (its points
  are in the day's change).
* ``record_removed``: a record of member ``m`` with ``flags`` is removed on ``day``; it is
  counted in the daily flow ``column`` (the kernel's expired, repaired or appealed: set it to
  count a removal of the mechanism's own), and should it end the member's listing, the exit
  is counted in the flow ``exit_column`` (the kernel's ``left_by_expiry``, ``_repair`` or
  ``_appeal``: set it to count an exit of the mechanism's own).
* ``listing``: whether member ``m`` is listed at the end of ``day``: ``now_blacklisted``
  (the score threshold's verdict; set it True to list).  Should the listing end today, the
  exit is counted in ``exit_column`` (the last removal's, else ``left_by_other``): a
  mechanism whose own listing term ends today sets it.
* ``false_recorded``: a false record of stream ``f`` now counts against member ``m``.
* ``listed`` / ``delisted``: member ``m`` enters the blacklist on ``day`` / leaves it on
  ``day`` (listed through ``day - 1``).
* ``spell_closed``: a blacklisted spell of member ``m`` (batch row ``ob + m``,
  group ``g``, class ``c``) covered days ``first`` .. ``last_day``; called once
  per spell, when it ends or at the horizon.
* ``neighbourhood_closed``: the neighbourhood's ``size`` members (scored or
  not) have been simulated to the horizon; their spells are rows
  ``spell_lo`` .. ``spell_hi - 1`` of ``spells`` (batch row, first, last day).
* ``grade_changed``: member ``m``'s grade moves from ``grade`` to ``new_grade`` at the end
  of ``day`` (their grade levels are already moved).
* ``ledger``: citizen ``m`` of the batch (group ``g``) has its outcomes in
  ``run`` and ``counterfactual`` (the run's own when unpaired).
* ``came_of_age``: a child ``m`` becomes a scored adult on ``day`` (population turnover),
  with the start score and grade: count what a scored citizen of that grade has.
* ``died``: scored member ``m`` dies on ``day`` (population turnover), after leaving the
  list: end what the mechanism keeps going (a suspension, a reward).
* ``timer``: member ``m`` wakes on ``day`` because a mechanism set ``state[m, S_TIMER]`` to
  it (a case coming to court, a release), before that day's events; the core has reset the
  timer to NEVER, so every mechanism with a later day pending sets it again to the earliest
  (``min``).  A hook anywhere may set it to a later day of the member's.
* ``period_started``: scored member ``m`` wakes on ``day``, the first day of a period of the
  schedule (``k``) that changes its class's values or brings a mechanism into force
  (``P.from_day``), before that day's events.
"""


class _Columns:
    """``FLOW``, ``OUT`` and ``Q`` in hooks: replaced by column numbers when spliced."""

    def __init__(self, kind: str):
        self.kind = kind

    def __getattr__(self, name: str) -> int:
        raise RuntimeError(f"{self.kind}.{name} is only meaningful in a hook spliced into the "
                           "kernel (scsim.kernels.generate)")


class _Active:
    """``if ACTIVE.name:`` in hooks and helpers: kept or dropped when the kernel is generated,
    as the kernel holds the mechanism ``name`` or not (a column of a mechanism the kernel
    lacks does not exist there)."""

    def __getattr__(self, name: str) -> bool:
        raise RuntimeError(f"ACTIVE.{name} is only meaningful as the test of an if in a hook "
                           "spliced into the kernel (scsim.kernels.generate)")


ACTIVE = _Active()
FLOW = _Columns("FLOW")
OUT = _Columns("OUT")
Q = _Columns("Q")
LEVEL = _Columns("LEVEL")
S = _Columns("S")


def class_traits(tables) -> tuple[Any, Any, Any]:
    """(income level, class region, age band) of each class, as arrays over the classes:
    classes are numbered group, income, class region, propensity, age band (adult, elder),
    the last fastest (``engine.tables.class_index``), for a module's per-class values."""
    import numpy as np

    c = np.arange(tables.n_classes)
    age = c % 2
    region = c // (2 * tables.n_propensities) % tables.n_regions
    income = c // (2 * tables.n_propensities * tables.n_regions) % tables.n_incomes
    return income, region, age


def unknown_grades(s: Scenario, field: str, names: Iterable[str]) -> Iterable[tuple[str, str]]:
    """(field[k], reason) for each name of a section's list of grades that is not a grade of
    the scheme (for a mechanism's ``check``)."""
    grades = [g.name for g in s.all_grades()]
    for k, name in enumerate(names):
        if name not in grades:
            yield f"{field}[{k}]", (f"unknown grade {name!r} (known: "
                                    f"{', '.join(grades) or 'none: define scheme.grades'})")


def behaviours_of_kind(s: Scenario, field: str, names: Iterable[str],
                       kind: str) -> Iterable[tuple[str, str]]:
    """(field[k], reason) for each name of a section's list of behaviours that is not a
    behaviour of the scenario, or not of ``kind`` (for a mechanism's ``check``)."""
    from scsim.text import known_names

    of_kind = [b for b, v in s.behaviours.items() if v.kind == kind]
    for k, b in enumerate(names):
        if b not in s.behaviours:
            yield f"{field}[{k}]", (
                f"unknown behaviour {b!r} (known: {known_names(list(s.behaviours))})")
        elif b not in of_kind:
            yield f"{field}[{k}]", (f"{b!r} is not of kind \"{kind}\" ({kind} behaviours: "
                                    f"{known_names(of_kind) or 'none'})")


def inline(helper: Callable) -> Callable:
    """Mark a helper to be inlined where it is called (for small ones on hot paths)."""
    helper.inline = True
    return helper


@dataclass(frozen=True)
class Flow:
    """Events per (day, group) that a mechanism counts: a column of ``daily.parquet``."""

    name: str
    description: str
    story: str | None = None
    """What the life story says on a day this happens to the traced citizen."""


@dataclass(frozen=True)
class Level:
    """A state counted per (day, group) (recorded as changes): a column of ``daily.parquet``."""

    name: str
    description: str
    story_on: str | None = None
    """What the life story says when the traced citizen enters this state ..."""
    story_off: str | None = None
    """... and when they leave it."""


@dataclass(frozen=True)
class Mechanism:
    name: str
    """The module's name: also its key in the phase plan."""
    title: str
    what: str
    """One line for the phase plan: what it does."""
    section: str
    """Dotted path of its scenario section (e.g. ``measures.loan_denial``)."""
    active: Callable[[Scenario], bool]
    params: Callable[[Scenario, Any], tuple]
    """(scenario, its KernelTables) -> the NamedTuple the hooks read as ``P``; for a scenario
    that does not use it, values that make every hook do nothing (the other side of a pair
    may use it)."""
    hooks: dict[str, Callable[..., None]]
    helpers: tuple[Callable, ...] = ()
    """Functions its hooks call (compiled into the kernel module, columns numbered)."""
    state: tuple[str, ...] = ()
    """Per-member int64 state it keeps (``state[m, S.name]``), set at the member_started
    site."""
    plan: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """Where it acts at several sites: what it does at each and the purposes it draws there
    (``scsim plan``); a site not named shows ``what`` and all its purposes."""
    purposes: dict[str, int] = field(default_factory=dict)
    """Random-number purposes it draws from (name -> number, unique across scsim)."""
    flows: tuple[Flow, ...] = ()
    outcomes: tuple[str, ...] = ()
    """Per-citizen counts of one variant, compared between variants by the ledger hook."""
    quantities: tuple[Quantity, ...] = ()
    levels: tuple[Level, ...] = ()
    start_levels: Callable[[Any, int], dict[str, int]] | None = None
    """(its parameters, the start grade) -> each level's value per scored citizen on day 0
    (every scored citizen starts alike, so day 0 is filled in after the kernel)."""
    counterfactual_flows: tuple[tuple[str, str], ...] = ()
    """(column, flow): a flow of the counterfactual shown in paired runs' daily tables."""
    describe: Callable[[Scenario], str] = lambda s: ""
    """The scenario description's sentence about it (empty when inactive)."""
    inputs: tuple[str, ...] = ()
    """Scenario paths (fnmatch patterns) that feed its quantities, beyond the listing."""
    check: Callable[[Scenario], Iterable[tuple[str, str]]] = lambda s: ()
    """(field, reason) for what in the scenario makes its section meaningless (a name that
    refers to nothing, a population it cannot act on); run only where it is active."""
    acts_on_blacklist: bool = False
    """A sanction of the listed: refused when the scheme can list nobody."""
    order: int = 0
    """Mechanisms are taken in (order, name): a lower order acts first at a shared site."""
    always_reported: bool = False
    """Its columns and quantities appear in every run, active or not (outputs that existed
    before mechanisms were modules keep their place); otherwise only where active."""
    can_start_later: bool = False
    """A schedule may bring it into force on a date (``in_force``); its parameters then carry
    ``from_day`` and its hooks act only from that day."""

    schedulable: tuple[str, ...] = ()
    """Scenario paths of its section (fnmatch patterns, ``*``: one name) that a schedule may
    change (``scsim.scenario.schedule``)."""
    columns_as: dict[str, str] = field(default_factory=dict)
    """For hooks shared by several mechanisms (a factory's, ``scsim.mechanisms.refusals``):
    the column each generic name in them stands for, e.g. ``{"OUT.refused": "trips_denied"}``."""
    per_period: tuple[str, ...] = ()
    """Fields of its parameters that get a leading period axis (one entry per period of the
    schedule, one without a schedule): those the ``schedulable`` paths feed.  A hook reads
    them at the period of its day (``P.x[k]``); one that spans days (``spell_closed``,
    ``neighbourhood_closed``) looks up each day's period."""
    any_period: tuple[str, ...] = ()
    """Boolean fields of its parameters that are true in a kernel with a schedule where they
    are true in any period of it (a switch for work that some period needs)."""
    daily_cost: Callable[[Scenario, Any], Any] | None = None
    """For a sanction of the listed: (scenario, its KernelTables) -> the expected cost, in
    yuan, of one listed day to a listed citizen of each class (an array over classes), from
    the section's own values (``scsim.mechanisms.listed_daily_cost`` sums them).  What the
    listed respond to (``scsim.mechanisms.response``); None: it costs nothing declared."""

    def columns(self, paired: bool) -> tuple[str, ...]:
        """Its daily.parquet columns (those of a module that is not always reported come
        after every other column): its flows, its levels, and its counterfactual's flows when
        paired."""
        return (*(f.name for f in self.flows), *(level.name for level in self.levels),
                *((c for c, _ in self.counterfactual_flows) if paired else ()))

    @property
    def module(self) -> str:
        """The module its hooks come from."""
        return next(iter(self.hooks.values())).__module__

    def __post_init__(self) -> None:
        unknown = set(self.hooks) - set(SITES)
        if unknown:
            raise ValueError(f"mechanism {self.name}: unknown hook sites {sorted(unknown)}; "
                             f"the sites are {sorted(SITES)}")
