"""The layout of the kernel's outputs: tally columns, per-citizen outcomes, ledger quantities.

Kept apart from the kernel so that code which only needs the layout (memory
planning, reading results) does not import numba.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scsim.scenario.model import Scenario

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
LEVEL_SUSPENDED = 7  # social-media account suspended
LEVEL_REWARDED = 8  # holding a grade that earns the deposit waiver
LEVEL_INCOME_LOSS = 9  # yuan lost per day by blacklisted citizens
LEVEL_FIRST_GRADE = 10

# Flow columns: committed[B], recorded[B], then these, at 2 * B + offset, then
# grade transitions: citizens moving from grade i to grade j, at
# 2 * B + N_OTHER_FLOWS + i * n_grades + j, then the false records that counted
# per false-attribution stream f (one per channel that has one), at
# 2 * B + N_OTHER_FLOWS + n_grades**2 + f.
FLOW_FALSE_RECORDS = 0  # false records that counted
FLOW_DENIED_TRIPS = 1
FLOW_ENTERED_BLACKLIST = 2
FLOW_LEFT_BLACKLIST = 3
FLOW_SPEECH_BLOCKED = 4
FLOW_FALSE_CAUGHT = 5  # false records discarded by human review
FLOW_APPEALS = 6  # false records contested
FLOW_APPEALS_WON = 7  # false records removed on appeal (on the decision day)
FLOW_EXPIRED = 8  # records expired (points restored)
FLOW_REPAIRED = 9  # records removed by credit repair
FLOW_SCHOOL_APPLICATIONS = 10
FLOW_SCHOOL_PENALISED = 11
N_OTHER_FLOWS = 12

# Per-citizen outcomes of one variant, compared between variants.
OUT_OFFENCES = 0  # offences committed
OUT_SPEECH = 1  # speech events committed (published or blocked)
OUT_SPEECH_BLOCKED = 2
OUT_TRIPS_DENIED = 3
OUT_DAYS_BLACKLISTED = 4
OUT_EVER_BLACKLISTED = 5
OUT_INCOME_LOST = 6
OUT_SCHOOL_PENALISED = 7
OUT_FALSE_RECORDS = 8  # false records that counted
OUT_GROUP = 9  # the citizen's group (copied in by the batch, for the ledger)
N_OUTCOMES = 10

# Ledger quantities: per citizen, the run minus the counterfactual (or the run
# alone), summed per group with their squares for confidence intervals.
Q_SANCTIONED = 0  # ever blacklisted in the run (0/1)
Q_WRONGLY_SANCTIONED = 1  # blacklisted on a day when the run without false records is not (0/1)
Q_SPEECH_LOST = 2  # published speech: counterfactual minus run
Q_SPEECH_CHILLED = 3  # committed speech: counterfactual minus run
Q_SPEECH_BLOCKED = 4  # blocked speech in the run
Q_BEHAVIOURS_PREVENTED = 5  # committed offences: counterfactual minus run
Q_TRIPS_DENIED = 6  # run minus counterfactual
Q_INCOME_LOST = 7  # yuan, run minus counterfactual
Q_CHILDREN_PENALISED = 8  # school admissions refused, run minus counterfactual
Q_FALSE_RECORDS = 9
Q_DAYS_BLACKLISTED = 10
Q_COUNTERFACTUAL_SANCTIONED = 11
Q_DAYS_WRONGLY_BLACKLISTED = 12  # days blacklisted on which the run without false records is not
N_QUANTITIES = 13
LEDGER_SUM, LEDGER_SQ_LOW, LEDGER_SQ_HIGH = 0, 1, 2


@dataclass(frozen=True)
class FlowLayout:
    """Where each flow column of a scenario's tallies is: the one place outside the kernel
    that knows (committed[B], recorded[B], the other flows, grade transitions[from, to],
    false records per stream)."""

    behaviours: int
    grades: int = 0
    false_streams: int = 0

    @classmethod
    def of(cls, s: Scenario) -> FlowLayout:
        return cls(len(s.behaviours), len(s.scheme.grades),
                   sum(1 for c in s.channels.values() if c.false_attribution is not None))

    def committed(self, b: int) -> int:
        return b

    def recorded(self, b: int) -> int:
        return self.behaviours + b

    def other(self, flow: int) -> int:
        """A FLOW_* column (false records, denied trips, entries, ...)."""
        return 2 * self.behaviours + flow

    def transition(self, from_grade: int, to_grade: int) -> int:
        return 2 * self.behaviours + N_OTHER_FLOWS + from_grade * self.grades + to_grade

    def false_stream(self, f: int) -> int:
        return 2 * self.behaviours + N_OTHER_FLOWS + self.grades * self.grades + f

    @property
    def transitions(self) -> slice:
        first = self.transition(0, 0)
        return slice(first, first + self.grades * self.grades)

    @property
    def width(self) -> int:
        return self.false_stream(self.false_streams)


def n_level_columns(n_grades: int) -> int:
    return LEVEL_FIRST_GRADE + n_grades


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
                  false_channels: list[str] = ()) -> list[str]:
    """Every column of daily.parquet, in order (duplicates included, for the loader to find)."""
    return [
        *CONTRACT_COLUMNS,
        *FIXED_COLUMNS,
        *(PAIRED_COLUMNS if paired else ()),
        *QUANTILE_COLUMNS,
        *(grade_column(g) for g in grades),
        *(c for b in behaviours for c in behaviour_columns(b)),
        *(false_records_column(c) for c in false_channels),
    ]
