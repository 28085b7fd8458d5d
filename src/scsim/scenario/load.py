"""Read a scenario file: TOML syntax, then the schema, then cross-references.

Every problem becomes a :class:`ScenarioError` holding one line per problem,
each naming the file, the field and the reason; the CLI prints them and exits
with status 2.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import stat
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from scsim.errors import ScsimError
from scsim.kernels.layout import (
    QUANTILE_COLUMNS,
    behaviour_columns,
    daily_columns,
    false_records_column,
    grade_column,
)
from scsim.scenario.model import MAX_CLASSES, MAX_GRADES, SHARE_TOLERANCE, Scenario
from scsim.text import known_names

LEDGER_EXACT_LIMIT = 2**31
"""A citizen's total of a ledger quantity must stay below this: its square is summed exactly."""


class ScenarioError(ScsimError):
    """A scenario that cannot be run, with one message line per problem."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.source}: {field}: {reason}" if field else f"{self.source}: {reason}"
                for field, reason in self.problems]


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and where it came from."""

    scenario: Scenario
    source: str
    sha256: str
    """Hash of the validated scenario's canonical JSON (after overrides)."""
    declared_size: int | None = None
    """The file's population.size before overrides (a run with --population samples it)."""

    @property
    def declared_population(self) -> int:
        return self.declared_size or self.scenario.population.size


MAX_FILE_BYTES = 1 << 20
"""Largest scenario file read (the national preset is about 12 KB)."""
MAX_NESTING = 32
"""Deepest nesting of tables and lists a scenario may have (the schema needs 5)."""
MAX_EXTENDS = 16
"""Longest chain of ``extends``."""


def _os_reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def _read_text(path: Path, source: str) -> str:
    """A regular file's text: never a FIFO, device or folder, never more than MAX_FILE_BYTES."""
    if "\0" in str(path):
        raise ScenarioError(source, [("", "the file name holds a NUL character")])
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(source, [("", "file not found")]) from None
    except (OSError, RuntimeError) as exc:  # symlink loops raise RuntimeError in 3.11
        reason = _os_reason(exc) if isinstance(exc, OSError) else "symbolic link loop"
        raise ScenarioError(source, [("", f"cannot read file: {reason}")]) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ScenarioError(source, [("", f"cannot read file: {kind}")])
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(source, [("", f"file is {info.st_size:,} bytes; a scenario may "
                                          f"have at most {MAX_FILE_BYTES:,}")])
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(source, [("", f"cannot read file: {_os_reason(exc)}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(source, [("", f"file has more than {MAX_FILE_BYTES:,} bytes")])
    if b"\0" in data:
        raise ScenarioError(source, [("", f"contains a NUL byte at offset {data.index(0):,}; "
                                          "a scenario is a text file")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [("", f"not UTF-8 text (byte {exc.start:,})")]) from None


def nesting_depth(value: Any) -> int:
    """Depth of nested tables and lists, counted without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth + 1)
            if depth + 1 <= MAX_NESTING:
                children = node.values() if isinstance(node, dict) else node
                stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_toml(text: str, source: str, field: str = "") -> dict[str, Any]:
    """TOML text to a dict, with one line for malformed or too deeply nested input."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [(field, f"malformed TOML: {exc}")]) from None
    except RecursionError:
        data = None
    if data is None or nesting_depth(data) > MAX_NESTING:
        raise ScenarioError(source, [(field, f"nested more than {MAX_NESTING} levels deep")])
    return data


def _read_toml(path: Path, source: str) -> dict[str, Any]:
    return parse_toml(_read_text(path, source), source)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value (lists included) replaces the base's."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_with_bases(path: Path, source: str, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's tables over those of the file it ``extends`` (relative to it), recursively."""
    raw = _read_toml(path, source)
    base = raw.pop("extends", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ScenarioError(source, [("extends", f"must be a file name, got {base!r}")])
    if len(seen) >= MAX_EXTENDS:
        raise ScenarioError(source, [("extends", f"more than {MAX_EXTENDS} files extend "
                                                 "one another")])
    try:
        base_path = (path.parent / base).resolve()
        here = path.resolve()
    except (OSError, RuntimeError):  # symlink loops raise RuntimeError in 3.11
        raise ScenarioError(source, [("extends", f"{base!r}: symbolic link loop")]) from None
    if base_path in seen or base_path == here:
        raise ScenarioError(source, [("extends", f"{base!r} extends itself (a cycle)")])
    try:
        base_raw = _read_with_bases(base_path, str(base_path), (*seen, here))
    except ScenarioError as exc:
        raise ScenarioError(source, [("extends", line) for line in exc.lines()]) from None
    merged = _merge(base_raw, raw)
    own = raw.get("calibration")
    if isinstance(own, dict) and "targets" in own and "fit" not in own:
        # A fit is to its targets: a file with targets of its own fits nothing it did not say.
        merged["calibration"].pop("fit", None)
    return merged


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None,
                  additions: dict[str, Any] | None = None) -> LoadedScenario:
    """Load and fully validate a scenario file, applying dotted-path overrides.

    A file may start with ``extends = "other.toml"``: it then says only what
    differs from that file (tables merge key by key, other values replace).
    ``overrides`` may only set what exists (a misspelt behaviour is an error,
    never a new behaviour); ``additions`` may also add named entries.
    """
    return scenario_from_raw(read_raw(path), str(path), overrides, additions)


def read_raw(path: str | Path) -> dict[str, Any]:
    """A scenario file as parsed TOML, merged over the files it extends (not yet validated)."""
    return _read_with_bases(Path(path), str(path))


def scenario_from_raw(raw: dict[str, Any], source: str,
                      overrides: dict[str, Any] | None = None,
                      additions: dict[str, Any] | None = None) -> LoadedScenario:
    """``load_scenario`` on a file already read (``read_raw``), which is left unchanged: a
    sweep reads its scenario once and builds every point from it."""
    raw = copy.deepcopy(raw)
    declared = raw.get("population", {}).get("size") if isinstance(raw.get("population"),
                                                                    dict) else None
    for changes, may_add in ((additions or {}, True), (overrides or {}, False)):
        for dotted, value in changes.items():
            problem = override_problem(raw, dotted, may_add)
            if problem is not None:
                raise ScenarioError(source, [(dotted, problem)])
            if not _set_dotted(raw, dotted, value):
                raise ScenarioError(source, [(dotted, "cannot override: a parent of this "
                                                      "field is a value, not a table")])
    loaded = validate_scenario(raw, source, strict=True)
    if isinstance(declared, int) and not isinstance(declared, bool) and declared > 0:
        loaded = dataclasses.replace(loaded, declared_size=declared)
    return loaded


def _unwrap(annotation: Any) -> Any:
    """The type inside ``X | None`` and ``Annotated[X, ...]``."""
    while True:
        args = [a for a in get_args(annotation) if a is not type(None)]
        origin = get_origin(annotation)
        if origin in (list, dict) or not args:
            return annotation
        annotation = args[0]


def override_problem(raw: dict[str, Any], dotted: str, may_add: bool) -> str | None:
    """Why a dotted path may not be set, or None.

    Walking the schema along the path, a key of a table of named entries
    (behaviours, channels) must name an existing entry unless ``may_add``.
    Unknown fields of a section are left to the schema, which names them.
    """
    parts = dotted.split(".")
    if any(not part for part in parts):
        return "empty part in the dotted path"
    model: Any = Scenario
    node: Any = raw
    k = 0
    while k < len(parts) and isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get(parts[k])
        if field is None:
            return None  # the schema reports the unknown field, with what is allowed
        node = node.get(parts[k]) if isinstance(node, dict) else None
        model = _unwrap(field.annotation)
        k += 1
        if get_origin(model) is not dict or k >= len(parts):
            continue
        entry = _unwrap(get_args(model)[1])
        if not (isinstance(entry, type) and issubclass(entry, BaseModel)):
            return None  # a map of values keyed by references, checked by name later
        name = parts[k]
        known = list(node) if isinstance(node, dict) else []
        if name not in known and not may_add:
            what = parts[k - 1].removesuffix("s")
            return (f"unknown {what} {name!r} (known: {known_names(known) or 'none'}); --set "
                    f"changes what exists, --add adds a new {what}")
        node = node.get(name) if isinstance(node, dict) else None
        model = entry
        k += 1
    return None


def validate_scenario(raw: dict[str, Any], source: str = "<scenario>",
                      strict: bool = False) -> LoadedScenario:
    """Validate a parsed scenario: ``strict`` for one read from TOML, whose values have their
    own types (so ``true`` is never a population of 1, nor "5" a rate); lax for one stored as
    JSON by scsim (dates as text)."""
    if not isinstance(raw, dict):
        raise ScenarioError(source, [("", "not a table of fields")])
    if nesting_depth(raw) > MAX_NESTING:
        raise ScenarioError(source, [("", f"nested more than {MAX_NESTING} levels deep")])
    try:
        scenario = Scenario.model_validate(raw, strict=strict)
    except ValidationError as exc:
        raise ScenarioError(source, [_describe_pydantic_error(e) for e in exc.errors()]) from None
    problems = list(cross_reference_problems(scenario))
    if not problems and scenario.schedule:
        from scsim.scenario.schedule import schedule_problems

        problems = schedule_problems(scenario)
    if problems:
        raise ScenarioError(source, problems)
    return LoadedScenario(scenario, source, scenario_sha256(scenario))


def scenario_sha256(scenario: Scenario) -> str:
    """Hash of the scenario's canonical JSON: equal hashes, equal scenarios."""
    canonical = json.dumps(canonical_dump(scenario), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def canonical_dump(scenario: Scenario) -> dict[str, Any]:
    """The scenario as JSON values, without the calendar, schedule and turnover fields while
    they are unset: a scenario that uses none keeps the hash it had before they existed."""
    dump = scenario.model_dump(mode="json", by_alias=True)
    if not dump["schedule"]:
        del dump["schedule"]
    for name in ("start", "end", "report_from"):
        if dump["run"][name] is None:
            del dump["run"][name]
    if dump["population"]["turnover"] is None:
        del dump["population"]["turnover"]
    return dump


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_nulls(v) for v in value]
    return value


def scenario_toml(scenario: Scenario, population: int | None = None) -> str:
    """The validated scenario as a TOML file that loads back to it (the same SHA-256), with
    every default written out; ``population`` replaces population.size (a run of a sample
    stores the file's size, and its command gives --population)."""
    import tomli_w

    data = _without_nulls(scenario.model_dump(mode="python", by_alias=True))
    if population is not None:
        data["population"]["size"] = population
    header = ("# The effective scenario of a scsim run: the file with every --set, --add, "
              "--seed,\n# --days and sweep value applied, and every default written out.\n")
    return header + tomli_w.dumps(data)


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> bool:
    *parents, leaf = dotted.split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return False
    node[leaf] = value
    return True


def _describe_pydantic_error(error: dict[str, Any]) -> tuple[str, str]:
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        allowed = _allowed_fields(error["loc"][:-1])
        message = "unknown field" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
    elif error["type"] == "missing":
        message = "required field is missing"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if error["type"] not in ("extra_forbidden", "missing") and "input" in error:
        given = error["input"]
        if isinstance(given, str | int | float | bool):
            message = f"{message} (got {given!r})"
    return loc, message


def _allowed_fields(loc: tuple) -> list[str]:
    """Field names of the section at ``loc``, found by walking the schema."""
    model: Any = Scenario
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel):
            if not isinstance(part, str) or part not in model.model_fields:
                return []
            model = model.model_fields[part].annotation
        else:  # a dict[str, X] key, a list[X] index, or an optional X
            candidates = [a for a in get_args(model) if a is not type(None)]
            if not candidates:
                return []
            model = candidates[-1]
        while get_origin(model) is not None or type(None) in get_args(model):
            args = [a for a in get_args(model) if a is not type(None)]
            if get_origin(model) in (list, dict) or not args:
                break
            model = args[-1]
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


DATED_METRICS = ("cumulative_blacklist_entries", "cumulative_travel_blocks", "blacklisted_on",
                 "total", "level_on", "share_on")
"""Calibration metrics that are figures on a date (``CalibrationTarget.on``)."""


def cross_reference_problems(s: Scenario) -> Iterator[tuple[str, str]]:
    """Problems the schema alone cannot see: names that refer to nothing, rates above 1."""
    groups = [c.name for c in s.population.groups]
    incomes = [c.name for c in s.population.income_levels]
    regions = [c.name for c in s.population.regions]
    propensities = [c.name for c in s.population.propensity_levels]
    behaviours = list(s.behaviours)

    def unknown(where: str, names, known: list[str], what: str) -> Iterator[tuple[str, str]]:
        for name in names:
            if name not in known:
                yield f"{where}.{name}", f"unknown {what} {name!r} (known: {known_names(known)})"

    for region, shares in s.population.group_shares_by_region.items():
        where = f"population.group_shares_by_region.{region}"
        if region not in regions:
            yield where, f"unknown region {region!r} (known: {known_names(regions)})"
        yield from unknown(where, shares, groups, "group")
        total = sum(shares.values())
        if abs(total - 1.0) > 1e-9:
            yield where, f"shares sum to {total:.12g}, not 1"
    if s.calibration is not None:
        for k, target in enumerate(s.calibration.targets):
            if target.group is not None and target.group not in groups:
                yield (f"calibration.targets[{k}].group",
                       f"unknown group {target.group!r} (known: {known_names(groups)})")
            dated = target.metric in DATED_METRICS
            where = f"calibration.targets[{k}].on"
            if dated and target.on is None:
                yield where, f"{target.metric} is a figure on a date: give on = YYYY-MM-DD"
            elif target.on is not None and not dated:
                yield where, f"{target.metric} is a figure per year, not on a date"
            elif target.on is not None and s.run.start is None:
                yield where, "a figure on a date needs run.start"
            yield from _target_column_problems(s, k, target)
    parts = sorted({t.part for t in (s.calibration.targets if s.calibration else [])
                    if t.part is not None})
    for path, source in s.sources.items():
        if source.part is not None and source.part not in parts:
            yield (f"sources.{path}.part",
                   f"unknown part {source.part!r} (the calibration targets' parts: "
                   f"{', '.join(map(repr, parts)) or 'none'})")
    for b, spec in s.behaviours.items():
        where = f"behaviours.{b}"
        yield from unknown(f"{where}.multiplier_by_group", spec.multiplier_by_group, groups,
                           "group")
        yield from unknown(f"{where}.multiplier_by_income", spec.multiplier_by_income, incomes,
                           "income level")
        yield from unknown(f"{where}.multiplier_by_region", spec.multiplier_by_region, regions,
                           "region")
        yield from unknown(f"{where}.multiplier_by_propensity", spec.multiplier_by_propensity,
                           propensities, "propensity level")
        yield from unknown(f"{where}.multiplier_by_age", spec.multiplier_by_age, ["adult", "elder"],
                           "age band (children never commit scored behaviour)")
        # rates are products of independent multipliers: the largest product
        # takes the largest multiplier of each trait
        worst_rate = spec.daily_rate
        worst_of = {}
        for label, names, multipliers in (
            ("group", groups, spec.multiplier_by_group),
            ("income", incomes, spec.multiplier_by_income),
            ("region", regions, spec.multiplier_by_region),
            ("propensity", propensities, spec.multiplier_by_propensity),
            ("age", ["adult", "elder"], spec.multiplier_by_age),
        ):
            name = max(names, key=lambda n, m=multipliers: m.get(n, 1.0))
            worst_of[label] = name
            worst_rate *= multipliers.get(name, 1.0)
        if worst_rate > 1.0:
            where_worst = ", ".join(f"{label} {name!r}" for label, name in worst_of.items())
            yield f"{where}.daily_rate", (
                f"daily_rate times multipliers is {worst_rate:.6g} for {where_worst}; "
                "a daily probability cannot exceed 1"
            )

    watched_by: dict[str, str] = {}
    for c, channel in s.channels.items():
        where = f"channels.{c}"
        for i, b in enumerate(channel.records):
            if b not in s.behaviours:
                yield f"{where}.records[{i}]", (
                    f"unknown behaviour {b!r} (known: {known_names(behaviours)})"
                )
            elif b in watched_by:
                yield f"{where}.records[{i}]", (
                    f"behaviour {b!r} is already recorded by channel {watched_by[b]!r}; "
                    "each behaviour has at most one channel"
                )
            else:
                watched_by[b] = c
        yield from unknown(f"{where}.coverage_by_region", channel.coverage_by_region, regions,
                           "region")
        yield from unknown(f"{where}.detection_by_group", channel.detection_by_group, groups,
                           "group")
        fa = channel.false_attribution
        if fa is not None:
            if fa.behaviour not in s.behaviours:
                yield f"{where}.false_attribution.behaviour", (
                    f"unknown behaviour {fa.behaviour!r} (known: {known_names(behaviours)})"
                )
            yield from unknown(f"{where}.false_attribution.rate_by_group", fa.rate_by_group,
                               groups, "group")
            yield from unknown(f"{where}.false_attribution.multiplier_by_region",
                               fa.multiplier_by_region, regions, "region")
            worst_region = max([1.0, *fa.multiplier_by_region.values()])
            worst_rate = max([fa.daily_rate, *fa.rate_by_group.values()]) * worst_region
            if worst_rate > 1.0:
                yield f"{where}.false_attribution.multiplier_by_region", (
                    f"rate times region multiplier is {worst_rate:.6g}; a daily probability "
                    "cannot exceed 1"
                )

    yield from unknown("scheme.points", s.scheme.points, behaviours, "behaviour")
    yield from _pilot_problems(s)
    yield from _mechanism_problems(s)
    yield from _representation_problems(s)
    yield from _source_problems(s)
    yield from _fit_problems(s)
    yield from unknown("adaptation.rate_factor_when_recorded",
                       s.adaptation.rate_factor_when_recorded, behaviours, "behaviour")


def _pilot_problems(s: Scenario) -> Iterator[tuple[str, str]]:
    """Pilots lie in regions that exist, fill at most all of one, score behaviours that
    exist, and name grades no other scheme uses."""
    regions = [c.name for c in s.population.regions]
    behaviours = list(s.behaviours)
    share_of: dict[str, float] = {}
    grade_owner = {g.name: "scheme.grades" for g in s.scheme.grades}
    for name, pilot in s.pilots.items():
        where = f"pilots.{name}"
        if name == "national":
            yield where, "'national' names the national scheme (the scheme table); rename it"
        if pilot.region not in regions:
            yield f"{where}.region", (
                f"unknown region {pilot.region!r} (known: {known_names(regions)})")
        else:
            share_of[pilot.region] = share_of.get(pilot.region, 0.0) + pilot.share_of_region
            if share_of[pilot.region] > 1.0 + SHARE_TOLERANCE:
                yield f"{where}.share_of_region", (
                    f"the pilots of region {pilot.region!r} cover "
                    f"{share_of[pilot.region]:.6g} of it, more than all of it")
        for point_name in pilot.points:
            if point_name not in s.behaviours:
                yield f"{where}.points.{point_name}", (
                    f"unknown behaviour {point_name!r} (known: {known_names(behaviours)})")
        for g in pilot.grades:
            if g.name in grade_owner:
                yield f"{where}.grades", (
                    f"grade {g.name!r} is already a grade of {grade_owner[g.name]}; grades "
                    "name one scheme's band everywhere (outputs, measures), so give it a name "
                    f"of its own (e.g. {name}_{g.name})")
            grade_owner[g.name] = f"{where}.grades"
    if len(grade_owner) > MAX_GRADES:
        yield "pilots", (f"the schemes have {len(grade_owner)} grades together; at most "
                         f"{MAX_GRADES} can be tabulated")
    if s.pilots and s.scheme.blacklist_below is not None:
        yield "scheme.blacklist_below", (
            "a score threshold cannot list citizens of pilots, whose scores are on scales of "
            "their own: with pilots the blacklist is scheme.blacklist_behaviours (a court list)")
    for b, spec in s.behaviours.items():
        if not spec.pilots_only:
            continue
        if not s.pilots:
            yield f"behaviours.{b}.pilots_only", (
                "there are no pilots, so nobody would ever commit it; add a pilot or drop the "
                "field")
        elif b in s.scheme.points:
            yield f"scheme.points.{b}", (
                f"{b!r} is pilots_only: no citizen of the national scheme commits it, so "
                "national points for it would never count")


def _mechanism_problems(s: Scenario) -> Iterator[tuple[str, str]]:
    """What each mechanism module a scenario uses finds wrong with it (names that refer to
    nothing, mechanisms that cannot act), and sanctions of a blacklist nobody can be on."""
    from scsim.mechanisms import MECHANISMS  # (the schema imports their sections)

    prosecution = s.measures.prosecution
    blacklist_possible = (s.scheme.blacklist_below is not None or s.scheme.blacklist_behaviours
                          or (prosecution is not None and prosecution.refusal_share > 0))
    for m in MECHANISMS:
        if not m.active(s):
            continue
        yield from m.check(s)
        if m.acts_on_blacklist and not blacklist_possible:
            yield m.section, (
                f"the {m.title} acts on the blacklist, but the scheme has none: set "
                "scheme.blacklist_below or scheme.blacklist_behaviours (or a prosecution "
                "whose refusals list)"
            )


COLUMN_METRICS = ("total", "level_on", "share_on")
"""Calibration metrics of named daily.parquet columns (``CalibrationTarget.columns``)."""
NOT_COUNTS = frozenset({"day", "date", "group", "mean_score", *QUANTILE_COLUMNS})


def target_columns(s: Scenario) -> list[str]:
    """The daily.parquet columns a calibration target may sum: the counts of an unpaired run."""
    from scsim.mechanisms import daily_columns as mechanism_columns

    grades = [g.name for g in s.all_grades()]
    channels = [name for name, c in s.channels.items() if c.false_attribution is not None]
    return [c for c in daily_columns(list(s.behaviours), grades, paired=False,
                                     false_channels=channels,
                                     mechanism_columns=mechanism_columns(s),
                                     turnover=s.population.turnover is not None)
            if c not in NOT_COUNTS]


def _target_column_problems(s: Scenario, k: int, target) -> Iterator[tuple[str, str]]:
    where = f"calibration.targets[{k}]"
    if target.metric not in COLUMN_METRICS:
        if target.columns:
            yield f"{where}.columns", (f"{target.metric} names its own figure: columns are for "
                                       f"{' and '.join(COLUMN_METRICS)}")
        if target.from_ is not None:
            yield f"{where}.from", f"{target.metric} has no window: from is for total"
        return
    if not target.columns:
        yield f"{where}.columns", (f"{target.metric} sums daily.parquet columns: name them, "
                                   "e.g. columns = [\"entered_blacklist\"]")
    known = target_columns(s)
    for j, name in enumerate(target.columns):
        if name not in known:
            yield f"{where}.columns[{j}]", (f"unknown column {name!r} of this scenario's "
                                            f"daily.parquet (known: {known_names(known, 40)})")
    if target.from_ is not None:
        if target.metric != "total":
            yield f"{where}.from", f"{target.metric} is a figure on one day: from is for total"
        elif target.on is not None and target.from_ > target.on:
            yield f"{where}.from", f"from {target.from_} is after on {target.on}"
        elif s.run.start is not None and target.from_ < (s.run.report_from or s.run.start):
            yield f"{where}.from", (f"from {target.from_} is before the first reported day "
                                    f"{s.run.report_from or s.run.start}")


def _representation_problems(s: Scenario) -> Iterator[tuple[str, str]]:
    """Scenarios the engine could not represent: column-name collisions, too many classes,
    per-citizen totals that would overflow the ledger's exact sums."""
    pop = s.population
    grades = [g.name for g in s.all_grades()]
    channels = [name for name, c in s.channels.items() if c.false_attribution is not None]
    from scsim.mechanisms import MECHANISMS  # (the schema imports their sections)

    every_mechanism = [c for m in MECHANISMS if not m.always_reported
                       for c in m.columns(paired=True)]
    columns = daily_columns(list(s.behaviours), grades, paired=True, false_channels=channels,
                            mechanism_columns=every_mechanism)
    counts: dict[str, int] = {}
    for column in columns:
        counts[column] = counts.get(column, 0) + 1
    owners = {c: f"behaviours.{b}" for b in s.behaviours for c in behaviour_columns(b)}
    owners |= {grade_column(g): f"grades ({g!r})" for g in grades}
    owners |= {false_records_column(c): f"channels.{c}" for c in channels}
    for column, n in counts.items():
        if n > 1:
            where = owners.get(column, "behaviours")
            yield where, (
                f"the name makes the output column {column!r}, which another column of "
                "daily.parquet already uses; rename it"
            )
    classes = (len(pop.groups) * len(pop.income_levels) * (len(pop.regions) + len(s.pilots))
               * len(pop.propensity_levels) * 2)
    if classes > MAX_CLASSES:
        yield "population", (
            f"groups x income levels x regions{' (with pilots)' if s.pilots else ''} x "
            f"propensity levels x 2 age bands = "
            f"{classes:,} classes; at most {MAX_CLASSES:,} can be tabulated"
        )
    turnover = pop.turnover
    if turnover is not None and turnover.births_per_1000 > 0 and (
            s.run.days > turnover.adult_age * 365):
        yield "population.turnover.births_per_1000", (
            f"a run of {s.run.days:,} days is longer than adult_age ({turnover.adult_age} years): "
            "children born in it would come of age, which is not modelled; shorten the run")
    top_income = max(c.daily_income for c in pop.income_levels)
    if s.run.days * top_income >= LEDGER_EXACT_LIMIT:
        yield "population.income_levels", (
            f"a daily income of {top_income:,} yuan over {s.run.days:,} days makes a "
            f"citizen's income lost reach {s.run.days * top_income:,}; the ledger sums "
            f"squares exactly only below {LEDGER_EXACT_LIMIT:,} (fewer days or lower incomes)"
        )


def value_at(s: Scenario, dotted: str) -> Any:
    """The scenario's value at a dotted path (KeyError if there is none)."""
    node: Any = s.model_dump(mode="json")
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def prior_range(s: Scenario, path: str) -> tuple[float | None, float | None]:
    """The plausible range of a fitted value: its own ``low`` and ``high``, else those of its
    ``[sources]`` entry (None where neither gives one)."""
    fitted = s.calibration.fit[path]
    source = s.sources.get(path)
    low = fitted.low if fitted.low is not None else (source.low if source else None)
    high = fitted.high if fitted.high is not None else (source.high if source else None)
    return low, high


def set_at(dump: dict[str, Any], dotted: str, value: Any) -> None:
    """Set the value at a dotted path of a scenario's dump (an integer field stays whole)."""
    node = dump
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[part]
    node[last] = round(value) if isinstance(node[last], int) else value


def _invalid_at(s: Scenario, path: str, value: float) -> str | None:
    """Why the scenario's field at ``path`` cannot take ``value`` (None if it can)."""
    dump = s.model_dump(mode="json", by_alias=True)
    set_at(dump, path, value)
    try:
        Scenario.model_validate(dump)
    except ValidationError as exc:
        return _describe_pydantic_error(exc.errors()[0])[1]
    return None


def _fit_problems(s: Scenario) -> Iterator[tuple[str, str]]:
    """Each value ``scsim fit`` fits is a number field of the scenario with a plausible range
    it can take at both ends, and the fit has fitted targets, each with its error."""
    if s.calibration is None or not s.calibration.fit:
        return
    for path, fitted in s.calibration.fit.items():
        where = f"calibration.fit.{path}"
        problem = _not_a_number(s, path)
        if problem is not None:
            yield where, problem
            continue
        low, high = prior_range(s, path)
        if low is None or high is None:
            yield where, ("no plausible range: give low and high here, or make its [sources] "
                          "entry an assumption with low and high")
        elif not low < high:
            yield where, f"the prior needs low < high (got {low:g} and {high:g})"
        elif fitted.prior == "log-uniform" and low <= 0:
            yield where, f"a log-uniform prior needs low > 0 (got {low:g})"
        else:
            for end, bound in (("low", low), ("high", high)):
                reason = _invalid_at(s, path, bound)
                if reason is not None:
                    yield where, (f"the prior's {end} {bound:g} is outside the field's range: "
                                  f"{reason}")
    targets = s.calibration.targets
    fitted_targets = [k for k, t in enumerate(targets) if t.role == "fitted" and t.part is None]
    if not fitted_targets:
        yield "calibration.fit", "no fitted target of the main part (without part) to fit to"
    for k in fitted_targets:
        if targets[k].error is None:
            yield f"calibration.targets[{k}].error", (
                "scsim fit weighs each fitted target by its error: give error (relative, "
                "e.g. 0.05) and error_reason")


def _not_a_number(s: Scenario, path: str) -> str | None:
    """Why ``path`` does not name a number field of the scenario (None if it does)."""
    try:
        value = value_at(s, path)
    except KeyError:
        return f"names no value of the scenario ({path!r} is not set)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{path} is not a number field (got {value!r})"
    return None


def _source_problems(s: Scenario) -> Iterator[tuple[str, str]]:
    """Every [sources] entry names a number the scenario has (a value set by --set or a sweep
    may leave an assumption's plausible range: that is what exploring it means)."""
    for path in s.sources:
        problem = _not_a_number(s, path)
        if problem is not None:
            yield f"sources.{path}", problem
