"""A line of the ledger: what a quantity counts, and what kind of figure it is.

Kept apart from ``scsim.ledger`` (which builds the ledger from a run) so that
the mechanism modules, which declare their quantities, depend on nothing above
them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    """One line of the ledger."""

    name: str
    binary: bool
    """Each citizen contributes 0 or 1 (a count of citizens), else a count of events."""
    side: str
    """'harm' or 'benefit' (the system's claimed effect)."""
    unit: str
    needs_counterfactual: bool
    description: str
    relative: bool = False
    """Measured against the counterfactual when paired (so runs paired with different
    counterfactuals cannot be compared on it)."""
    of_counterfactual: bool = False
    """A level of the counterfactual itself, not of the run."""
    against: str = ""
    """For a benefit counted in the run itself (a level): what it is counted against (its
    own counterfactual, in words); a paired difference is against the run's counterfactual."""
    daily: tuple[str, ...] = ()
    """daily.parquet columns whose sum over days is the quantity's total (a leading '-':
    subtracted, where the table has it: a paired run's counterfactual column); none for
    counts of citizens, which a day-by-day sum would count once per day or year."""
    never_negative: bool = False
    """A paired difference no citizen's value of which can be negative: the counterfactual
    lacks the mechanism that produces the quantity (a travel ban against 'none'), so each
    citizen's difference is the run's own count (set per run by ``build_ledger``)."""

    def can_be_negative(self, paired: bool) -> bool:
        """Whether a figure of this quantity may be below 0 (its interval may then be too)."""
        return self.measure(paired) == PAIRED_DIFFERENCE and not self.never_negative

    def daily_total(self, columns, rows) -> int:
        """The quantity's total over some days (``rows`` of the daily ``columns``, a mapping
        of column name to values) from the daily columns it is the sum of."""
        total = 0
        for column in self.daily:
            name = column.lstrip("-")
            if name in columns:
                total += (-1 if column.startswith("-") else 1) * int(columns[name][rows].sum())
        return total

    def measure(self, paired: bool) -> str:
        """What a figure of this quantity is: a level or a paired difference (see MEASURES)."""
        if not paired:
            return LEVEL
        if self.of_counterfactual:
            return COUNTERFACTUAL_LEVEL
        if self.relative:
            return PAIRED_DIFFERENCE
        return PAIRED_COMPARISON if self.needs_counterfactual else LEVEL


LEVEL = "level"
PAIRED_DIFFERENCE = "paired difference"
PAIRED_COMPARISON = "paired comparison"
COUNTERFACTUAL_LEVEL = "counterfactual level"
MEASURES = {
    LEVEL: "a level: the run's own count",
    PAIRED_DIFFERENCE: "a paired difference: per citizen, the run minus the counterfactual "
                       "(or the counterfactual minus the run, for what the system prevents), "
                       "under common random numbers, summed",
    PAIRED_COMPARISON: "a paired comparison: citizens (or days) on which the run differs from "
                       "the same citizen with the same draws but without false records",
    COUNTERFACTUAL_LEVEL: "a level of the counterfactual, for reference",
}
"""What each kind of ledger figure is, in words (written into ledger.json)."""


EXIT_CAUSES = {
    "left_by_performance": "the judgment performed",
    "left_by_repair": "credit repair",
    "left_by_expiry": "the record or the listing term expired",
    "left_by_appeal": "a successful appeal",
    "left_by_unable_delisting": "delisted as unable to pay",
    "left_by_death": "death",
    "left_by_other": "the score rose or the rule changed",
}
"""The flows of exits from the list by cause (docs/odd.md, section 7.3), as the ledger lists
them, with what each means (the report's words)."""
