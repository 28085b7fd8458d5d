"""The scenario schema: what a scenario file may say, with a docstring per field.

Sections that later versions add (households, expiry, appeals, rewards,
deterrence) will be optional tables with defaults that switch them off, so a
file valid today stays valid and means the same thing.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Score = Annotated[int, Field(ge=-32768, le=32767)]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SHARE_TOLERANCE = 1e-9
MAX_DAYS = 100_000
MAX_POPULATION = 2**62


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"name {name!r} must start with a lowercase letter and use only a-z, 0-9 and _"
        )
    return name


class Strict(BaseModel):
    """Base of every section: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class Category(Strict):
    """One category of a population trait (a group, an income level, a region)."""

    name: str
    """Identifier used in modifiers and in output columns (lowercase, a-z0-9_)."""
    share: Probability
    """Fraction of citizens in this category; the shares of a trait sum to 1."""

    _check_name = field_validator("name")(check_name)


def _default_groups() -> list[Category]:
    return [Category(name="majority", share=1.0)]


def _default_income() -> list[Category]:
    return [Category(name="normal", share=1.0)]


def _default_regions() -> list[Category]:
    return [Category(name="all", share=1.0)]


class Population(Strict):
    """The synthetic population; each citizen's traits are drawn independently."""

    size: Annotated[int, Field(gt=0, le=MAX_POPULATION)]
    """Number of citizens, each simulated individually."""
    groups: list[Category] = Field(default_factory=_default_groups, min_length=1)
    """Groups (e.g. majority, minority); the first is the reference for disparity ratios."""
    income_levels: list[Category] = Field(default_factory=_default_income, min_length=1)
    """Income levels (e.g. low, normal)."""
    regions: list[Category] = Field(default_factory=_default_regions, min_length=1)
    """Regions (provinces or cities) with their population shares."""

    @field_validator("groups", "income_levels", "regions")
    @classmethod
    def _shares_sum_to_one(cls, categories: list[Category]) -> list[Category]:
        total = sum(c.share for c in categories)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"shares sum to {total:.12g}, not 1")
        names = [c.name for c in categories]
        if len(set(names)) != len(names):
            raise ValueError(f"names are not unique: {names}")
        return categories


class Behaviour(Strict):
    """A behaviour citizens may commit, as independent daily Bernoulli events."""

    kind: Literal["offence", "speech", "good_deed"] = "offence"
    """What the behaviour is: an offence, online speech, or a good deed."""
    daily_rate: Probability
    """Probability that a citizen commits it on a given day, before multipliers."""
    multiplier_by_group: dict[str, NonNegative] = {}
    """Rate multipliers for some groups (missing groups: 1)."""
    multiplier_by_income: dict[str, NonNegative] = {}
    """Rate multipliers for some income levels (missing levels: 1)."""
    multiplier_by_region: dict[str, NonNegative] = {}
    """Rate multipliers for some regions (missing regions: 1)."""


class FalseAttribution(Strict):
    """Records a channel makes about citizens who did nothing (false matches)."""

    behaviour: str
    """The behaviour the false record claims."""
    daily_rate: Probability
    """Probability per citizen-day of a false record, for groups not overridden."""
    rate_by_group: dict[str, Probability] = {}
    """Per-group daily rates that replace ``daily_rate`` (e.g. higher for a minority)."""


class Channel(Strict):
    """A surveillance source, modelled only as statistics."""

    records: list[str] = Field(min_length=1)
    """Behaviours this channel watches; each behaviour has at most one channel."""
    coverage: Probability = 1.0
    """Probability that an event happens where the channel is present."""
    coverage_by_region: dict[str, Probability] = {}
    """Per-region coverages that replace ``coverage``."""
    detection: Probability = 1.0
    """Probability that a covered event is detected and recorded."""
    detection_by_group: dict[str, Probability] = {}
    """Per-group detection probabilities that replace ``detection``."""
    false_attribution: FalseAttribution | None = None
    """False records this channel attributes to citizens; none if absent."""


class Grade(Strict):
    """A grade band: citizens whose score is at least ``min_score`` (and below the next band)."""

    name: str
    """Grade label used in output columns (e.g. a, b, c, d)."""
    min_score: Score
    """Lowest score in this band."""

    _check_name = field_validator("name")(check_name)


class Scheme(Strict):
    """The scoring rules."""

    start_score: Score
    """Every citizen's score on day 0."""
    min_score: Score
    """Lower bound; the score is clipped to [min_score, max_score] after each day's change."""
    max_score: Score
    """Upper bound."""
    points: dict[str, int] = {}
    """Points per recorded (true or false) event of each behaviour (missing: 0)."""
    grades: list[Grade] = []
    """Grade bands, highest first; the last band's min_score must be at most min_score."""
    blacklist_below: Score | None = None
    """Citizens whose score is below this are blacklisted; no blacklist if absent."""

    @model_validator(mode="after")
    def _bounds(self) -> Scheme:
        if not self.min_score <= self.start_score <= self.max_score:
            raise ValueError(
                f"need min_score <= start_score <= max_score, got "
                f"{self.min_score} <= {self.start_score} <= {self.max_score}"
            )
        if self.grades:
            mins = [g.min_score for g in self.grades]
            if any(a <= b for a, b in itertools.pairwise(mins)):
                raise ValueError(f"grades must be listed highest first, got min_scores {mins}")
            if mins[-1] > self.min_score:
                raise ValueError(
                    f"grades: the lowest band starts at {mins[-1]}, above min_score "
                    f"{self.min_score}, so some scores would have no grade"
                )
            names = [g.name for g in self.grades]
            if len(set(names)) != len(names):
                raise ValueError(f"grades: names are not unique: {names}")
        return self


class TravelBan(Strict):
    """Trips (plane, high-speed rail) are denied to sanctioned citizens."""

    daily_trip_rate: Probability
    """Probability that a citizen tries to buy a ticket on a given day."""
    applies_to: Literal["blacklist"] = "blacklist"
    """Who is banned: citizens on the blacklist."""


class Measures(Strict):
    """Sanctions and rewards attached to the score."""

    travel_ban: TravelBan | None = None
    """The travel ban; none if absent."""


class Adaptation(Strict):
    """How citizens change their behaviour in response to the system."""

    rate_factor_when_recorded: dict[str, Annotated[float, Field(gt=0.0, le=1.0)]] = {}
    """Each recorded event of the behaviour multiplies that citizen's rate of it by this factor."""


class Run(Strict):
    """Length and seed of the simulation."""

    days: Annotated[int, Field(gt=0, le=MAX_DAYS)]
    """Number of simulated days."""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    """Seed of all random draws; the same seed gives bit-identical results."""


class Output(Strict):
    """What the run records beyond the daily table."""

    score_bin_width: Annotated[int, Field(gt=0)] = 1
    """Width in points of the bins of the daily score histogram."""


class Scenario(Strict):
    """A complete scenario: the world, the system, and how long to run it."""

    name: str
    """Short name of the scenario."""
    description: str = ""
    """What the scenario represents and where its numbers come from."""
    format: Literal[1] = 1
    """Version of the scenario file format."""
    run: Run
    """Length and seed."""
    population: Population
    """The synthetic population."""
    behaviours: dict[str, Behaviour] = Field(min_length=1)
    """Behaviours, keyed by name; their order is the order of the output columns."""
    channels: dict[str, Channel] = {}
    """Surveillance channels, keyed by name."""
    scheme: Scheme
    """Scoring rules."""
    measures: Measures = Measures()
    """Sanctions and rewards."""
    adaptation: Adaptation = Adaptation()
    """Behavioural responses to the system."""
    output: Output = Output()
    """Output options."""

    @field_validator("behaviours", "channels")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for name in value:
            check_name(name)
        return value
