"""The run's calendar: day numbers of dates, and the day a mechanism comes into force.

Kept apart from the schedule (``scsim.scenario.schedule``) so that the
mechanism modules can read it without importing the scenario schema.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scsim.scenario.model import Scenario


def day_of(s: Scenario, date: datetime.date) -> int:
    """The run's day number of a date (day 1 is ``run.start``)."""
    return (date - s.run.start).days + 1


def date_of(s: Scenario, day: int) -> datetime.date:
    return s.run.start + datetime.timedelta(days=day - 1)


def in_force_day(s: Scenario, section: str) -> int:
    """The first day a mechanism's section acts: its ``in_force`` entry's, else day 1."""
    for entry in s.schedule:
        if section in entry.in_force:
            return max(day_of(s, entry.date), 1)
    return 1
