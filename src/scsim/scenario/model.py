"""The scenario schema: what a scenario file may say, with a docstring per field.

Every mechanism beyond R0 (households, expiry, appeals, credit repair, human
review, sanctions and rewards, deterrence) is an optional table whose absence
switches it off, so a file that leaves it out means what it always meant.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from scsim.mechanisms.appeals import Appeals
from scsim.mechanisms.camps import Camps
from scsim.mechanisms.credit_repair import CreditRepair
from scsim.mechanisms.deposit_waiver import DepositWaiver
from scsim.mechanisms.deposits import Deposits
from scsim.mechanisms.deterrence import Deterrence
from scsim.mechanisms.employment_penalty import EmploymentPenalty
from scsim.mechanisms.human_review import HumanReview
from scsim.mechanisms.judgments import Judgments
from scsim.mechanisms.loan_denial import LoanDenial
from scsim.mechanisms.prosecution import Prosecution
from scsim.mechanisms.rail_ban import RailBan
from scsim.mechanisms.response import Response
from scsim.mechanisms.school_admission import SchoolAdmission
from scsim.mechanisms.school_priority import SchoolPriority
from scsim.mechanisms.speech_suspension import SpeechSuspension
from scsim.mechanisms.travel_ban import TravelBan
from scsim.scenario.fields import (  # noqa: F401  (re-exported)
    MAX_BEHAVIOURS,
    MAX_CATEGORIES,
    MAX_CHANNELS,
    MAX_CLASSES,
    MAX_DAILY_INCOME,
    MAX_DAYS,
    MAX_GRADES,
    MAX_MULTIPLIER,
    MAX_NAME_LENGTH,
    MAX_PILOTS,
    MAX_POINTS,
    MAX_POPULATION,
    MAX_RISK,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    SHARE_TOLERANCE,
    Date,
    Days,
    Multiplier,
    Points,
    Probability,
    Prose,
    RiskWeight,
    Score,
    Strict,
    Title,
    check_name,
)
from scsim.scenario.schedule import ScheduleEntry


class Category(Strict):
    """One category of a population trait (a group, an income level, a region)."""

    name: str
    """Identifier used in modifiers and in output columns (lowercase, a-z0-9_)."""
    share: Probability
    """Fraction of citizens in this category; the shares of a trait sum to 1."""

    _check_name = field_validator("name")(check_name)


def _default_groups() -> list[Category]:
    return [Category(name="majority", share=1.0)]


class IncomeLevel(Category):
    """An income level; levels are listed from the lowest to the highest."""

    daily_income: Annotated[int, Field(ge=0, le=MAX_DAILY_INCOME)] = 0
    """Income per day in yuan; an employment penalty loses the difference to a lower level."""


def _default_income() -> list[IncomeLevel]:
    return [IncomeLevel(name="normal", share=1.0)]


def _default_regions() -> list[Category]:
    return [Category(name="all", share=1.0)]


def _default_propensities() -> list[Category]:
    return [Category(name="typical", share=1.0)]


AGE_BANDS = ("adult", "elder", "child")
"""Age bands; children are never scored, recorded or sanctioned themselves."""
MAX_NEIGHBOURHOOD = 4096


class HouseholdType(Strict):
    """One household composition and its share of households."""

    adults: Annotated[int, Field(ge=1, le=16)]
    """Working-age adults (the parents whose grade a child's school admission depends on)."""
    elders: Annotated[int, Field(ge=0, le=16)] = 0
    """Members aged 60 or more; scored like adults."""
    children: Annotated[int, Field(ge=0, le=16)] = 0
    """Members under 18; never scored."""
    share: Probability
    """Fraction of households of this composition; the shares sum to 1."""


class Households(Strict):
    """Households and neighbourhoods: the only places where citizens affect each other.

    Citizens are numbered household by household; a neighbourhood is a block of
    consecutive citizens in one region, and every household, contact and
    spillover lies inside one neighbourhood, so no contact list is ever stored.
    """

    types: list[HouseholdType] = Field(min_length=1, max_length=MAX_CATEGORIES)
    """Household compositions with their shares."""
    neighbourhood_size: Annotated[int, Field(ge=1, le=MAX_NEIGHBOURHOOD)] = 64
    """Citizens per neighbourhood (a grid-management cell); the last household of a
    neighbourhood is cut short to fit (its adults first, then elders, then children)."""
    contacts_per_citizen: Annotated[float, Field(ge=0.0, le=MAX_NEIGHBOURHOOD)] = 0.0
    """Mean number of contacts per citizen outside the household, inside the neighbourhood;
    each pair is a contact with the same probability, decided by a hash of the pair."""

    @field_validator("types")
    @classmethod
    def _shares_sum_to_one(cls, types: list[HouseholdType]) -> list[HouseholdType]:
        total = sum(t.share for t in types)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"shares sum to {total:.12g}, not 1")
        return types


class Turnover(Strict):
    """Citizens age, are born and die over the run.

    A citizen's age within its band is uniform (children 0 to ``adult_age``,
    adults to ``elder_age``, elders to ``max_age``): an ASSUMPTION.  Deaths come
    at a constant hazard per age band; births at a constant rate, each to an
    adult, and a newborn is a child of the adult's group (never scored within a
    run shorter than ``adult_age`` years).
    """

    deaths_per_1000: dict[Literal["child", "adult", "elder"],
                          Annotated[float, Field(ge=0.0, le=1000.0)]] = {}
    """Deaths per 1,000 citizens of each age band per year (a band not given: none)."""
    births_per_1000: Annotated[float, Field(ge=0.0, le=1000.0)] = 0.0
    """Births per 1,000 citizens per year."""
    adult_age: Annotated[int, Field(ge=1, le=100)] = 18
    """The age at which a child becomes a scored adult."""
    elder_age: Annotated[int, Field(ge=2, le=120)] = 60
    """The age at which an adult becomes an elder."""
    max_age: Annotated[int, Field(ge=3, le=130)] = 90
    """The oldest age of an elder at the start (ages are uniform within a band)."""

    @model_validator(mode="after")
    def _ages(self) -> Turnover:
        if not self.adult_age < self.elder_age < self.max_age:
            raise ValueError(f"need adult_age < elder_age < max_age, got {self.adult_age}, "
                             f"{self.elder_age}, {self.max_age}")
        return self


class Population(Strict):
    """The synthetic population.

    Without ``households`` every citizen is an adult living alone, with group,
    income and region drawn independently (R0).  With them, group and income
    are drawn per household and region per neighbourhood.
    """

    size: Annotated[int, Field(gt=0, le=MAX_POPULATION)]
    """Number of citizens, each simulated individually."""
    groups: list[Category] = Field(default_factory=_default_groups, min_length=1,
                                   max_length=MAX_CATEGORIES)
    """Groups (e.g. majority, minority); the first is the reference for disparity ratios.
    Their shares apply in every region without its own in ``group_shares_by_region``."""
    income_levels: list[IncomeLevel] = Field(default_factory=_default_income, min_length=1,
                                             max_length=MAX_CATEGORIES)
    """Income levels from the lowest to the highest (e.g. low, normal)."""
    regions: list[Category] = Field(default_factory=_default_regions, min_length=1,
                                    max_length=MAX_CATEGORIES)
    """Regions (provinces or cities) with their population shares."""
    propensity_levels: list[Category] = Field(default_factory=_default_propensities,
                                              min_length=1, max_length=MAX_CATEGORIES)
    """Personal propensities (e.g. careful, typical, reckless), drawn per citizen; behaviours
    set their rate multipliers with ``multiplier_by_propensity``."""
    households: Households | None = None
    """Households, neighbourhoods and contacts; none: every citizen is an adult living alone."""
    group_shares_by_region: dict[str, dict[str, Probability]] = {}
    """Group shares in some regions (e.g. a minority concentrated in one province), replacing
    the groups' shares there; groups not named have share 0 in that region."""
    turnover: Turnover | None = None
    """Ageing, births and deaths; none: the same citizens, of the same age bands, throughout."""

    @field_validator("groups", "income_levels", "regions", "propensity_levels")
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

    kind: Literal["offence", "speech", "good_deed", "lawful"] = "offence"
    """What the behaviour is: an offence, online speech, a good deed, or a lawful everyday
    activity (that a platform may flag; deterred like speech, never an offence)."""
    daily_rate: Probability
    """Probability that a citizen commits it on a given day, before multipliers."""
    multiplier_by_group: dict[str, Multiplier] = {}
    """Rate multipliers for some groups (missing groups: 1)."""
    multiplier_by_income: dict[str, Multiplier] = {}
    """Rate multipliers for some income levels (missing levels: 1)."""
    multiplier_by_region: dict[str, Multiplier] = {}
    """Rate multipliers for some regions (missing regions: 1)."""
    multiplier_by_propensity: dict[str, Multiplier] = {}
    """Rate multipliers for some personal propensity levels (missing levels: 1)."""
    multiplier_by_age: dict[str, Multiplier] = {}
    """Rate multipliers for ``adult`` or ``elder`` (children never commit scored behaviour)."""
    pilots_only: bool = False
    """Simulated only for citizens of a pilot scheme, its false records too: a behaviour
    that only pilots score need not cost events for a billion citizens outside them."""


class FalseAttribution(Strict):
    """Records a channel makes about citizens who did nothing (false matches)."""

    behaviour: str
    """The behaviour the false record claims."""
    daily_rate: Probability
    """Probability per citizen-day of a false record, for groups not overridden."""
    rate_by_group: dict[str, Probability] = {}
    """Per-group daily rates that replace ``daily_rate`` (e.g. higher for a minority)."""
    multiplier_by_region: dict[str, Multiplier] = {}
    """Per-region multipliers of the rate (e.g. more cameras, more false matches)."""


class Channel(Strict):
    """A surveillance source, modelled only as statistics."""

    records: list[str] = Field(min_length=1, max_length=MAX_BEHAVIOURS)
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


def _check_bounds_and_grades(start: int, low: int, high: int, grades: list[Grade]) -> None:
    """A score scale is consistent: start within bounds, grades highest first covering it."""
    if not low <= start <= high:
        raise ValueError(
            f"need min_score <= start_score <= max_score, got {low} <= {start} <= {high}"
        )
    if grades:
        mins = [g.min_score for g in grades]
        if any(a <= b for a, b in itertools.pairwise(mins)):
            raise ValueError(f"grades must be listed highest first, got min_scores {mins}")
        if mins[-1] > low:
            raise ValueError(
                f"grades: the lowest band starts at {mins[-1]}, above min_score "
                f"{low}, so some scores would have no grade"
            )
        names = [g.name for g in grades]
        if len(set(names)) != len(names):
            raise ValueError(f"grades: names are not unique: {names}")


class Scheme(Strict):
    """The scoring rules."""

    start_score: Score
    """Every citizen's score on day 0."""
    min_score: Score
    """Lower bound; the score is clipped to [min_score, max_score] after each day's change."""
    max_score: Score
    """Upper bound."""
    points: dict[str, Points] = {}
    """Points per recorded (true or false) event of each behaviour (missing: 0)."""
    grades: list[Grade] = Field(default=[], max_length=MAX_GRADES)
    """Grade bands, highest first; the last band's min_score must be at most min_score."""
    blacklist_below: Score | None = None
    """Citizens whose score is below this are blacklisted; no score threshold if absent."""
    blacklist_behaviours: list[str] = []
    """Citizens holding an active record of any of these behaviours are blacklisted whatever
    their score (a court-debtor list: listed on a court-default record until it is removed)."""
    retention_days: Annotated[int, Field(gt=0, le=MAX_DAYS)] | None = None
    """Records expire this many days after they were made and their points are restored;
    records never expire if absent."""
    appeals: Appeals | None = None
    """Appeals against false records; none if absent."""
    credit_repair: CreditRepair | None = None
    """Credit repair of true records; none if absent."""
    human_review: HumanReview | None = None
    """Human review of records before they count; none if absent."""
    judgments: Judgments | None = None
    """Judgment debtors (listing records): unable or unwilling to pay, performance under the
    list's pressure, delisting of the unable; none if absent."""

    @model_validator(mode="after")
    def _bounds(self) -> Scheme:
        _check_bounds_and_grades(self.start_score, self.min_score, self.max_score, self.grades)
        if self.blacklist_below is not None and self.blacklist_below > self.start_score:
            raise ValueError(
                f"blacklist_below {self.blacklist_below} is above start_score "
                f"{self.start_score}: every citizen would start on the blacklist"
            )
        return self


class Pilot(Strict):
    """A city's own point scheme inside a region (Rongcheng in Shandong, say).

    Its citizens are scored on its scale with its points and grades instead of
    the national scheme's; everything else (the blacklist and its measures,
    retention, appeals, repair, review) applies to them as to everyone.  Which
    neighbourhoods of the region belong to it is part of the world, drawn apart
    from every other trait, so adding a pilot changes no other citizen's draws.
    """

    region: str
    """The region (province) the city lies in."""
    share_of_region: Annotated[float, Field(gt=0.0, le=1.0)]
    """The city's share of the region's population."""
    start_score: Score
    """Every citizen's score on day 0 in this scheme."""
    min_score: Score
    """Lower bound of this scheme's scale."""
    max_score: Score
    """Upper bound of this scheme's scale."""
    points: dict[str, Points] = {}
    """Points per recorded (true or false) event of each behaviour (missing: 0)."""
    grades: list[Grade] = Field(default=[], max_length=MAX_GRADES)
    """Grade bands, highest first; names must differ from every other scheme's."""

    @model_validator(mode="after")
    def _bounds(self) -> Pilot:
        _check_bounds_and_grades(self.start_score, self.min_score, self.max_score, self.grades)
        return self


class Measures(Strict):
    """Sanctions (on the blacklist) and rewards (for high grades)."""

    travel_ban: TravelBan | None = None
    """The travel ban (plane and high-speed rail; flights only with ``rail_ban``); none if
    absent."""
    rail_ban: RailBan | None = None
    """High-speed-rail tickets refused apart from flights; none if absent."""
    speech_suspension: SpeechSuspension | None = None
    """Social-media suspension; none if absent."""
    employment_penalty: EmploymentPenalty | None = None
    """Income loss while blacklisted; none if absent."""
    school_admission: SchoolAdmission | None = None
    """Children's school admission penalised by the parents' blacklisting; none if absent."""
    deposit_waiver: DepositWaiver | None = None
    """Deposit waivers for high grades; none if absent."""
    loan_denial: LoanDenial | None = None
    """Bank loans refused to the blacklisted; none if absent."""
    school_priority: SchoolPriority | None = None
    """School places for children of parents in high grades; none if absent."""
    deposits: Deposits | None = None
    """Deposits waived, use by use in yuan, for high grades; none if absent."""
    camps: Camps | None = None
    """Detention in camps for flags of lawful activity; none if absent."""
    prosecution: Prosecution | None = None
    """Prosecution of recorded speech (detention, fines, listing on refusal); none if
    absent."""


class Adaptation(Strict):
    """How citizens change their behaviour in response to the system."""

    rate_factor_when_recorded: dict[str, Annotated[float, Field(gt=0.0, le=1.0)]] = {}
    """Each recorded event of the behaviour multiplies that citizen's rate of it by this factor."""


class Run(Strict):
    """Length, calendar and seed of the simulation."""

    days: Annotated[int, Field(gt=0, le=MAX_DAYS)]
    """Number of simulated days (given, or from run.start to run.end)."""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    """Seed of all random draws; the same seed gives bit-identical results."""
    start: Date | None = None
    """The date of day 1; outputs then carry dates and the ledger calendar years.  Without it
    days are only numbered."""
    end: Date | None = None
    """The date of the last day (inclusive); instead of days."""
    report_from: Date | None = None
    """Burn-in: simulate from run.start but report daily tables and the ledger from this date
    on, so that stocks (the listed, their records) have built up by then."""

    @model_validator(mode="before")
    @classmethod
    def _days_from_dates(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("days") is None and data.get("end") is not None:
            if data.get("start") is None:
                raise ValueError("run.end needs run.start")
            try:
                start = datetime.date.fromisoformat(str(data.get("start")))
                end = datetime.date.fromisoformat(str(data["end"]))
            except ValueError:
                return data  # the fields' own validation names what is wrong
            data = {**data, "days": (end - start).days + 1}
        return data

    @model_validator(mode="after")
    def _calendar(self) -> Run:
        if self.start is not None and (datetime.date.max - self.start).days < self.days - 1:
            raise ValueError(f"run.start {self.start} plus {self.days:,} days ends after "
                             f"{datetime.date.max}, the last date there is")
        if self.report_from is not None:
            if self.start is None:
                raise ValueError("run.report_from needs run.start")
            last = self.start + datetime.timedelta(days=self.days - 1)
            if not self.start < self.report_from <= last:
                raise ValueError(f"run.report_from {self.report_from} must fall after run.start "
                                 f"{self.start} and by the last day {last}")
        if self.end is not None:
            if self.start is None:
                raise ValueError("run.end needs run.start")
            span = (self.end - self.start).days + 1
            if span != self.days:
                raise ValueError(f"run.days {self.days} does not match run.start {self.start} "
                                 f"to run.end {self.end} ({span} days); give one of the two")
        return self

    @property
    def first_reported_day(self) -> int:
        """Day 1, or the day of report_from (burn-in)."""
        if self.report_from is None:
            return 1
        return (self.report_from - self.start).days + 1

    @property
    def reported_days(self) -> int:
        return self.days - self.first_reported_day + 1

    @property
    def last_date(self) -> datetime.date | None:
        if self.start is None:
            return None
        return self.start + datetime.timedelta(days=self.days - 1)


class Output(Strict):
    """What the run records beyond the daily table."""

    score_bin_width: Annotated[int, Field(gt=0, le=MAX_POINTS)] = 1
    """Width in points of the bins of the daily score histogram."""


CALIBRATION_METRICS = (
    "blacklist_entries_per_year",
    "travel_blocks_per_listed_year",
    "recorded_speech_per_year",
    "repairs_per_year",
    "recorded_offences_per_scored_year",
    "recorded_good_deeds_per_scored_year",
    "sanctioned_share_of_scored",
    "cumulative_blacklist_entries",
    "cumulative_travel_blocks",
    "blacklisted_on",
    "held_in_camps_share_at_end",
    "ever_held_in_camps_share_of_scored",
    "total",
    "level_on",
    "share_on",
)
"""What ``scsim calibrate`` can compare with a published figure (see ``scsim.calibration``)."""


class CalibrationTarget(Strict):
    """A published figure the scenario aims to reproduce."""

    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)

    metric: Literal[CALIBRATION_METRICS]  # type: ignore[valid-type]
    """The simulated quantity to compare; counts are scaled to ``population.size``."""
    published: Annotated[float, Field(gt=0)]
    """The published value."""
    source: Annotated[Prose, Field(min_length=1)]
    """Where the published value comes from."""
    group: str | None = None
    """Compare one group only; all citizens if absent."""
    tolerance: Annotated[float, Field(gt=0)] = 0.25
    """Largest relative difference counted as reproduced."""
    on: Date | None = None
    """The date of a figure that is a stock or a running total (cumulative_* metrics and
    ``total``, from the first reported day, or ``from``, to this date; blacklisted_on,
    ``level_on`` and ``share_on``: on this date); needs run.start."""
    columns: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default=[], max_length=MAX_CATEGORIES)
    """``total``, ``level_on`` and ``share_on``: the daily.parquet columns summed (e.g.
    ``entered_blacklist``, or ``left_by_performance`` and ``left_by_repair`` for the exits the
    SPC counts as credit repair)."""
    from_: Date | None = Field(default=None, alias="from")
    """``total``: the first day counted (the first reported day if absent): a flow over a
    window, such as the listings of one year."""
    natural_persons: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """The share of the published count that the model's citizens stand for: the SPC counts
    person-times of legal persons too, whom the model lacks.  The run is compared with
    ``published`` times this share (state its source or ASSUMPTION in ``source``)."""
    role: Literal["fitted", "predicted"] = "fitted"
    """Whether the scenario's values were tuned to this figure (fitted) or it was left out of
    the tuning and the run predicts it (predicted)."""
    part: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    """The part of the model the figure tests, where the scenario has parts fitted apart
    (e.g. "camps", fitted to estimates of 2019 while the list is fitted to figures to 2017):
    a predicted figure is checked against the last fitted one of its own part, and an input
    whose ``[sources]`` entry names the part against that part's fit.  None: the main part."""
    error: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    """The published figure's relative precision as one standard deviation on a log scale
    (0.05: known to about 5%), which ``scsim fit`` weighs the target by; state why in
    ``error_reason``."""
    error_reason: Prose = ""
    """Why the figure is that precise: rounding ("about 6 M"), a lower bound ("over 1 M"),
    person-times against persons."""

    @model_validator(mode="after")
    def _error_has_its_reason(self) -> CalibrationTarget:
        if self.error is not None and not self.error_reason.strip():
            raise ValueError("an error needs its error_reason (rounding, a lower bound, "
                             "person-times against persons)")
        return self


class FittedValue(Strict):
    """A value that ``scsim fit`` fits, with its prior: uniform or log-uniform over its
    plausible range (``low`` and ``high``, else its ``[sources]`` entry's)."""

    prior: Literal["uniform", "log-uniform"]
    """The prior's shape: log-uniform for a rate that spans orders of magnitude."""
    low: float | None = None
    """Lowest plausible value (absent: the ``[sources]`` entry's ``low``)."""
    high: float | None = None
    """Highest plausible value (absent: the ``[sources]`` entry's ``high``)."""


class Calibration(Strict):
    """Published figures the scenario is calibrated against."""

    targets: list[CalibrationTarget] = Field(min_length=1, max_length=MAX_CATEGORIES)
    """The targets, in the order they are reported."""
    fit: dict[Annotated[str, Field(min_length=1, max_length=200)], FittedValue] = Field(
        default={}, max_length=MAX_CATEGORIES)
    """The values ``scsim fit`` fits (dotted paths, as in ``[sources]``) to the fitted targets
    of the main part (those without ``part``), each with its prior."""


class Source(Strict):
    """Where one value of the scenario comes from: a sourced figure, or an ASSUMPTION with the
    range it could plausibly take (which ``scsim screen`` explores)."""

    ref: Annotated[Prose, Field(min_length=1)] | None = None
    """The section of docs/sources.md (and its tag), e.g. "sources §2.1 [S]"."""
    assumption: bool = False
    """No public figure anchors the value."""
    low: float | None = None
    """Lowest plausible value (assumptions)."""
    high: float | None = None
    """Highest plausible value (assumptions)."""
    note: Prose = ""
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    """The year of the figure the value rests on (a sourced value), or of the latest figure
    its range was read from: ``scsim calibrate`` refuses a preset whose inputs cite a figure
    later than its fitted targets (a prediction must not rest on what it predicts)."""
    part: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    """The part of the calibration (``CalibrationTarget.part``) whose fit the value belongs
    to: its ``year`` is checked against that part's fitted figures.  None: the main part."""

    @model_validator(mode="after")
    def _complete(self) -> Source:
        if self.assumption:
            if self.low is None or self.high is None or not self.low < self.high:
                raise ValueError("an assumption needs its plausible range: low < high")
        elif self.ref is None:
            raise ValueError("give ref (a section of docs/sources.md) or assumption = true")
        return self


class Scenario(Strict):
    """A complete scenario: the world, the system, and how long to run it."""

    _not_yet_in_force: frozenset[str] = PrivateAttr(default=frozenset())
    """Sections that a period of a schedule holds but that come into force later (set by
    ``scenario.schedule.periods``): their sanctions cost the listed nothing yet."""

    name: Title
    """Short name of the scenario (any text; the default run folder uses a slug of it)."""
    description: Prose = ""
    """What the scenario represents and where its numbers come from."""
    format: Literal[1] = 1
    """Version of the scenario file format."""
    run: Run
    """Length and seed."""
    population: Population
    """The synthetic population."""
    behaviours: dict[str, Behaviour] = Field(min_length=1, max_length=MAX_BEHAVIOURS)
    """Behaviours, keyed by name; their order is the order of the output columns."""
    channels: dict[str, Channel] = Field(default={}, max_length=MAX_CHANNELS)
    """Surveillance channels, keyed by name."""
    scheme: Scheme
    """Scoring rules (the national scheme: every citizen outside a pilot)."""
    pilots: dict[str, Pilot] = Field(default={}, max_length=MAX_PILOTS)
    """City pilots with their own point schemes, keyed by name, inside the regions."""
    measures: Measures = Measures()
    """Sanctions and rewards."""
    adaptation: Adaptation = Adaptation()
    """Behavioural responses to the system."""
    deterrence: Deterrence | None = None
    """Perceived risk, deterrence and chilling; none if absent."""
    response: Response | None = None
    """How people respond to what the sanctions cost the listed (paying, defaulting less);
    none if absent."""
    output: Output = Output()
    """Output options."""
    schedule: list[ScheduleEntry] = Field(default=[], max_length=10_000)
    """Dated changes of values, in date order (``scsim.scenario.schedule``); needs run.start."""
    calibration: Calibration | None = None
    """Published figures this scenario aims to reproduce (``scsim calibrate``)."""
    sources: dict[str, Source] = Field(default={}, max_length=10_000)
    """Where values come from, by dotted path (e.g. "deterrence.speech_sensitivity"): a
    section of docs/sources.md, or an ASSUMPTION with its plausible range."""

    @field_validator("behaviours", "channels", "pilots")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for name in value:
            check_name(name)
        return value

    def scheme_names(self) -> list[str]:
        """The schemes citizens are scored under: 'national' (``scheme``), then the pilots."""
        return ["national", *self.pilots]

    def scales(self) -> list[Scheme | Pilot]:
        """The scoring scales in scheme order (``scheme_names``): the national scheme, then
        each pilot (both have start_score, min_score, max_score, points and grades)."""
        return [self.scheme, *self.pilots.values()]

    def all_grades(self) -> list[Grade]:
        """Every scheme's grades, the national scheme's first, then each pilot's in order."""
        return [g for x in self.scales() for g in x.grades]

    def score_range(self) -> tuple[int, int]:
        """The lowest and highest score of any scheme (the histogram's range)."""
        scales = self.scales()
        return min(x.min_score for x in scales), max(x.max_score for x in scales)
