"""The layout of the kernel's outputs: tally columns, per-citizen outcomes, ledger quantities.

Kept apart from the kernel so that code which only needs the layout (memory
planning, reading results) does not import numba.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scsim.mechanisms.base import Mechanism
    from scsim.scenario.model import Scenario

OFFENCE, SPEECH, GOOD_DEED, LAWFUL = 0, 1, 2, 3
KIND_CODES = {"offence": OFFENCE, "speech": SPEECH, "good_deed": GOOD_DEED, "lawful": LAWFUL}
"""A lawful activity is neither an offence nor speech: what a monitoring platform flags in
a targeted region (its suppression is a harm, never an offence prevented)."""
ADULT, ELDER, CHILD = 0, 1, 2
N_AGE_BANDS = 3  # the ledger's age bands on day 0: ADULT, ELDER, CHILD
NEVER = 1 << 62
"""A day after every horizon (the kernel's 'never', in its tables too)."""

# Level columns (recorded as day-to-day changes).  The kernel counts each
# citizen once in LEVEL_POPULATION (and scored ones in LEVEL_SCORED) on day 0;
# every scored citizen starts in the same state, so the other day-0 levels are
# filled in afterwards from those counts.
LEVEL_POPULATION = 0
LEVEL_SCORED = 1
LEVEL_SCORE_SUM = 2
LEVEL_BLACKLISTED = 3
LEVEL_BLACKLISTED_WITH_FALSE = 4  # blacklisted while holding an active false record
LEVEL_WITH_FALSE_RECORDS = 5  # holding an active false record
LEVEL_WRONGLY_BLACKLISTED = 6  # blacklisted, and not in the run without false records (paired)
CORE_LEVELS = ("population", "scored", "score_sum", "blacklisted",
               "blacklisted_with_false_records", "citizens_with_false_records",
               "wrongly_blacklisted")
N_CORE_LEVELS = len(CORE_LEVELS)
# then the levels the kernel's mechanisms declare, then the citizens in each grade

# Per-member state of the kernel (int64 columns of ``state``, named ``S_NAME``
# there); the kernel's mechanisms add theirs after these.
CORE_STATE = ("id", "class", "group", "household", "age", "score", "grade", "blacklisted",
              "since", "false_active", "next_behaviour", "behaviour_index",
              "next_false", "false_index", "next_timed", "records_head", "next", "next_wake",
              "death", "elder_day", "start", "timer", "ledger_cell")
N_CORE_STATE = len(CORE_STATE)

# Flow columns: first the named flows (the core's below, then those the
# kernel's mechanisms declare, see ``KernelLayout``), then committed[B],
# recorded[B], grade transitions (citizens moving from grade i to grade j, at
# i * n_grades + j), and the false records that counted per false-attribution
# stream f (one per channel that has one).  ``FlowLayout`` says where each is.
FLOW_FALSE_RECORDS = 0  # false records that counted
FLOW_ENTERED_BLACKLIST = 1
FLOW_LEFT_BLACKLIST = 2
FLOW_SPEECH_BLOCKED = 3
FLOW_FALSE_CAUGHT = 4  # false records discarded by human review
FLOW_APPEALS = 5  # false records contested
FLOW_APPEALS_WON = 6  # false records removed on appeal (on the decision day)
FLOW_EXPIRED = 7  # records expired (points restored)
FLOW_REPAIRED = 8  # records removed by credit repair
# Exits from the list by cause (each exit counted in left_blacklist and in one of these, or in
# a mechanism's own: judgments performed, the unable delisted): the cause of the record
# removal that ended the listing (of the last one, when several end that day), a death, or
# ``other`` (a score that rose, a listing term of a mechanism's, a rule that changed).
FLOW_LEFT_BY_EXPIRY = 9
FLOW_LEFT_BY_REPAIR = 10
FLOW_LEFT_BY_APPEAL = 11
FLOW_LEFT_BY_OTHER = 12
FLOW_BIRTHS = 13  # population turnover: citizens born
FLOW_DEATHS = 14  # citizens who died (scored or not)
FLOW_CAME_OF_AGE = 15  # children who became scored adults
FLOW_DEATHS_OF_SCORED = 16  # scored citizens who died
FLOW_LEFT_BY_DEATH = 17  # listed citizens who died
CORE_FLOWS = ("false_records", "entered_blacklist", "left_blacklist", "speech_blocked",
              "false_records_caught_by_review", "appeals", "appeals_won", "records_expired",
              "records_repaired", "left_by_expiry", "left_by_repair", "left_by_appeal",
              "left_by_other", "births", "deaths", "came_of_age", "deaths_of_scored",
              "left_by_death")
TURNOVER_COLUMNS = ("births", "deaths", "came_of_age", "deaths_of_scored", "left_by_death")
"""daily.parquet columns of a run with population turnover (last)."""
N_CORE_FLOWS = len(CORE_FLOWS)

# Per-citizen outcomes of one variant, compared between variants; the
# kernel's mechanisms add theirs after these.
OUT_OFFENCES = 0  # offences committed
OUT_SPEECH = 1  # speech events committed (published or blocked)
OUT_SPEECH_BLOCKED = 2
OUT_DAYS_BLACKLISTED = 3
OUT_EVER_BLACKLISTED = 4
OUT_FALSE_RECORDS = 5  # false records that counted
OUT_GROUP = 6  # the citizen's ledger row: group + groups x (income + incomes x scheme)
OUT_FALSE_IN_BURN_IN = 7  # false records that counted before a burn-in ended (not reported)
CORE_OUTCOMES = ("offences", "speech", "speech_blocked", "days_blacklisted", "ever_blacklisted",
                 "false_records", "group", "false_records_in_burn_in")
PILOT_OUTCOMES = ("score",)
"""With pilots, one more outcome after the mechanisms': the final score (-1 for a citizen
never scored), for each scheme's mean; a kernel without pilots lacks it (it would widen
every citizen's row of outcomes for nothing)."""
N_CORE_OUTCOMES = len(CORE_OUTCOMES)

# Ledger quantities: per citizen, the run minus the counterfactual (or the run
# alone), summed per group with their squares for confidence intervals; the
# kernel's mechanisms add theirs after these.
Q_SANCTIONED = 0  # ever blacklisted in the run (0/1)
Q_WRONGLY_SANCTIONED = 1  # blacklisted on a day when the run without false records is not (0/1)
Q_SPEECH_LOST = 2  # published speech: counterfactual minus run
Q_SPEECH_CHILLED = 3  # committed speech: counterfactual minus run
Q_SPEECH_BLOCKED = 4  # blocked speech in the run
Q_BEHAVIOURS_PREVENTED = 5  # committed offences: counterfactual minus run
Q_FALSE_RECORDS = 6
Q_DAYS_BLACKLISTED = 7
Q_COUNTERFACTUAL_SANCTIONED = 8
Q_DAYS_WRONGLY_BLACKLISTED = 9  # days blacklisted on which the run without false records is not
CORE_QUANTITIES = ("sanctioned", "wrongly_sanctioned", "speech_lost", "speech_chilled",
                   "speech_blocked", "behaviours_prevented", "false_records",
                   "days_blacklisted", "counterfactual_sanctioned", "days_wrongly_blacklisted")
"""The ledger's names of the Q_* columns, in order."""
N_CORE_QUANTITIES = len(CORE_QUANTITIES)
LEDGER_SUM, LEDGER_SQ_LOW, LEDGER_SQ_HIGH = 0, 1, 2
CELL_COLUMNS = ("citizens", "scored", "score_sum")
"""The ledger's last columns (after the quantities, sums only): each row's citizens, and
with pilots its scored citizens and their final scores."""


@dataclass(frozen=True)
class KernelLayout:
    """The columns of one generated kernel: the core's, then its mechanisms' in order.

    The one place where a mechanism's flow, outcome or quantity gets its
    column; ``scsim.kernels.generate`` writes these numbers into the kernel
    and everything that reads the kernel's arrays asks this object.
    """

    mechanisms: tuple[str, ...]
    flows: tuple[str, ...]
    outcomes: tuple[str, ...]
    quantities: tuple[str, ...]
    levels: tuple[str, ...] = CORE_LEVELS
    state: tuple[str, ...] = CORE_STATE

    @classmethod
    def of(cls, mechanisms: Sequence[Mechanism]) -> KernelLayout:
        layout = cls._of(mechanisms)
        for kind in ("flows", "outcomes", "quantities", "levels", "state"):
            names = getattr(layout, kind)
            if len(set(names)) != len(names):
                twice = sorted({n for n in names if names.count(n) > 1})
                raise ValueError(f"the mechanisms {layout.mechanisms} declare {kind} {twice} "
                                 "that are already taken")
        return layout

    @classmethod
    def _of(cls, mechanisms: Sequence[Mechanism]) -> KernelLayout:
        return cls(
            tuple(m.name for m in mechanisms),
            CORE_FLOWS + tuple(f.name for m in mechanisms for f in m.flows),
            CORE_OUTCOMES + tuple(o for m in mechanisms for o in m.outcomes),
            CORE_QUANTITIES + tuple(q.name for m in mechanisms for q in m.quantities),
            CORE_LEVELS + tuple(v.name for m in mechanisms for v in m.levels),
            CORE_STATE + tuple(name for m in mechanisms for name in m.state),
        )

    def flow(self, name: str) -> int | None:
        """The column of a named flow, or None when no mechanism of this kernel counts it."""
        return self.flows.index(name) if name in self.flows else None

    def outcome(self, name: str) -> int:
        return self.outcomes.index(name)

    def quantity(self, name: str) -> int | None:
        return self.quantities.index(name) if name in self.quantities else None

    def level(self, name: str) -> int | None:
        """The column of a named level, or None when no mechanism of this kernel keeps it."""
        return self.levels.index(name) if name in self.levels else None

    @property
    def first_grade(self) -> int:
        """The level column of the first (highest) grade; the others follow."""
        return len(self.levels)

    def n_levels(self, n_grades: int) -> int:
        return self.first_grade + n_grades


@dataclass(frozen=True)
class FlowLayout:
    """Where each flow column of a scenario's tallies is: the one place outside the kernel
    that knows (the named flows, committed[B], recorded[B], grade transitions[from, to],
    false records per stream)."""

    behaviours: int
    grades: int = 0
    false_streams: int = 0
    named_flows: tuple[str, ...] = CORE_FLOWS
    scheme_grades: tuple[int, ...] = ()
    """Grades per scheme (the national one's, then each pilot's): transitions happen only
    within a scheme, so each has its own block of them; () is one scheme of ``grades``."""

    @classmethod
    def of(cls, s: Scenario, kernel: KernelLayout) -> FlowLayout:
        """The flows of scenario ``s`` simulated by the kernel whose layout is ``kernel``."""
        return cls(len(s.behaviours), len(s.all_grades()),
                   sum(1 for c in s.channels.values() if c.false_attribution is not None),
                   kernel.flows,
                   tuple(len(x.grades) for x in s.scales()))

    @property
    def _blocks(self) -> tuple[int, ...]:
        return self.scheme_grades or (self.grades,)

    @property
    def n_transitions(self) -> int:
        return sum(n * n for n in self._blocks)

    def transition_pairs(self) -> list[tuple[int, int]]:
        """(from, to) grade of each transition column, in column order."""
        pairs, first = [], 0
        for n in self._blocks:
            pairs += [(first + i, first + j) for i in range(n) for j in range(n)]
            first += n
        return pairs

    @property
    def named(self) -> int:
        return len(self.named_flows)

    def committed(self, b: int) -> int:
        return self.named + b

    def recorded(self, b: int) -> int:
        return self.named + self.behaviours + b

    def flow(self, name: str) -> int | None:
        """A named flow's column, or None when the kernel has no mechanism counting it."""
        return self.named_flows.index(name) if name in self.named_flows else None

    def transition(self, from_grade: int, to_grade: int) -> int:
        """The column of moves from one grade to another of the same scheme."""
        return self.named + 2 * self.behaviours + self.transition_pairs().index(
            (from_grade, to_grade))

    def false_stream(self, f: int) -> int:
        return self.named + 2 * self.behaviours + self.n_transitions + f

    @property
    def transitions(self) -> slice:
        first = self.named + 2 * self.behaviours
        return slice(first, first + self.n_transitions)

    @property
    def width(self) -> int:
        return self.false_stream(self.false_streams)


# Columns of daily.parquet, in order.  Behaviours and grades add columns named
# after them, so a scenario name could collide with another column: the
# loader checks ``daily_columns`` for duplicates before anything runs.
CONTRACT_COLUMNS = (
    "day",
    "group",
    "population",
    "mean_score",
    "blacklisted",
    "wrongly_blacklisted",
    "denied_trips",
    "speech_events",
    "recorded_speech",
)
FIXED_COLUMNS = (
    "scored",
    "entered_blacklist",
    "left_blacklist",
    "left_by_expiry",
    "left_by_repair",
    "left_by_appeal",
    "left_by_other",
    "blacklisted_with_false_records",
    "false_records",
    "citizens_with_false_records",
    "false_records_caught_by_review",
    "appeals",
    "appeals_won",
    "records_expired",
    "records_repaired",
    "speech_blocked",
    "suspended_accounts",
    "income_lost",
    "school_applications",
    "school_admissions_refused",
    "deposit_waived",
    "offences_committed",
)
PAIRED_COLUMNS = (
    "counterfactual_blacklisted",
    "counterfactual_denied_trips",
    "counterfactual_offences_committed",
    "behaviours_prevented",
    "speech_lost",
    "counterfactual_income_lost",
    "counterfactual_school_admissions_refused",
)
QUANTILE_COLUMNS = ("score_p10", "score_p50", "score_p90")


def grade_column(grade: str) -> str:
    return f"grade_{grade}"


def behaviour_columns(behaviour: str) -> tuple[str, str]:
    return f"{behaviour}_committed", f"{behaviour}_recorded"


def false_records_column(channel: str) -> str:
    return f"false_records_by_{channel}"


def daily_columns(behaviours: list[str], grades: list[str], paired: bool,
                  false_channels: list[str] = (), mechanism_columns: list[str] = (),
                  dated: bool = False, turnover: bool = False) -> list[str]:
    """Every column of daily.parquet, in order (duplicates included, for the loader to find).

    ``mechanism_columns``: those of mechanisms that are not always reported
    (``scsim.mechanisms.daily_columns``), last; ``dated``: the run has a start date, so a
    ``date`` column follows ``day``.
    """
    return [
        CONTRACT_COLUMNS[0],
        *(("date",) if dated else ()),
        *CONTRACT_COLUMNS[1:],
        *FIXED_COLUMNS,
        *(PAIRED_COLUMNS if paired else ()),
        *QUANTILE_COLUMNS,
        *(grade_column(g) for g in grades),
        *(c for b in behaviours for c in behaviour_columns(b)),
        *(false_records_column(c) for c in false_channels),
        *mechanism_columns,
        *(TURNOVER_COLUMNS if turnover else ()),
    ]
