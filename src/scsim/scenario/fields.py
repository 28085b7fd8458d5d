"""Field types and limits shared by the scenario schema and the mechanisms' sections.

Kept apart from ``scsim.scenario.model`` so that a mechanism module
(``scsim.mechanisms``) can declare its own scenario section without a
circular import.
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from scsim.text import unsafe_character

# Every number has a range the engine represents exactly: scores are int16,
# tallies int64, and the ledger sums each citizen's squared total exactly in
# int64 words (so a per-citizen total must stay below 2**31).
MAX_DAYS = 100_000
MAX_POPULATION = 2**62
MAX_POINTS = 65_535
"""Points per event; a score range is at most 65,535 wide, so more would change nothing."""
MAX_DAILY_INCOME = 1_000_000
MAX_MULTIPLIER = 1e6
MAX_RISK = 1e6
MAX_NAME_LENGTH = 64
MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 10_000
MAX_CATEGORIES = 1_000
"""Categories per trait (groups, income levels, regions, propensities)."""
MAX_BEHAVIOURS = 200
MAX_CHANNELS = 200
MAX_GRADES = 64
"""Grades of a scheme, and of all schemes (the national one and its pilots) together."""
MAX_PILOTS = 64
MAX_CLASSES = 2**20
"""Combinations of traits the kernel tabulates rates for."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Multiplier = Annotated[float, Field(ge=0.0, le=MAX_MULTIPLIER)]
RiskWeight = Annotated[float, Field(ge=0.0, le=MAX_RISK)]
Score = Annotated[int, Field(ge=-32768, le=32767)]
Points = Annotated[int, Field(ge=-MAX_POINTS, le=MAX_POINTS)]
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]
MAX_YUAN = 1e9
Yuan = Annotated[float, Field(ge=0.0, le=MAX_YUAN)]
"""An amount of money in yuan, as the ledger counts income lost and fines."""
MAX_ELASTICITY = 10.0
Elasticity = Annotated[float, Field(ge=0.0, le=MAX_ELASTICITY)]
"""How strongly a decision responds to a cost: 0, not at all."""



def _no_control(allow_newlines: bool):
    def check(text: str) -> str:
        found = unsafe_character(text, allow_newlines)
        if found is not None:
            raise ValueError(f"holds the control character {found}; text is printed to "
                             "terminals, where such characters act (remove it)")
        return text
    return check


def _iso_date(value: object) -> object:
    """A date given as ISO text (stored JSON, the Python API) is that date; a TOML date is
    already one. Nothing else becomes a date (a number is no day)."""
    if isinstance(value, str) and not isinstance(value, bool):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a date: give YYYY-MM-DD, got {value!r}") from None
    return value


Date = Annotated[datetime.date, BeforeValidator(_iso_date)]
"""A day: a TOML date, or ISO text (YYYY-MM-DD)."""

Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE_LENGTH),
                  AfterValidator(_no_control(allow_newlines=False))]
"""A one-line text: no control characters, no newline."""
Prose = Annotated[str, Field(max_length=MAX_TEXT_LENGTH),
                  AfterValidator(_no_control(allow_newlines=True))]
"""A text of any length up to MAX_TEXT_LENGTH: lines, but no other control characters."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SHARE_TOLERANCE = 1e-9


def check_name(name: str) -> str:
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"name {name[:20]!r}... is {len(name)} characters long; "
                         f"at most {MAX_NAME_LENGTH}")
    if not _NAME.match(name):
        raise ValueError(
            f"name {name!r} must start with a lowercase letter and use only a-z, 0-9 and _"
        )
    return name


class Strict(BaseModel):
    """Base of every section: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True,
                              allow_inf_nan=False)
