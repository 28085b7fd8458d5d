"""Read a run folder back, trusting nothing: every file is validated when the run is read.

A run folder is data a user may have edited, copied half-way or damaged, so
``read_run`` reads every file it is asked for at once and checks it:

* ``summary.json``: the fields the views use, with their types; the stored
  scenario (and counterfactual) re-validated and checked against the SHA-256
  written beside it, so an edited scenario is refused, not re-told;
* ``ledger.json``: its structure (groups, quantities, entries, ratios) and
  that it describes this scenario (groups in order, citizens, days, pairing);
* ``daily.parquet``: exactly the columns the layout gives this scenario, with
  their types, and the rows in day-then-group order;
* ``score_histogram.parquet`` and ``grade_transitions.parquet``: schema, known
  groups and grades, days in range, rows in order;
* ``traces.json`` and ``stories.json``: the stories' structure (and the examples'
  citizens are of the run).

Any problem is a :class:`RunFolderError` naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scsim.errors import ScsimError
from scsim.kernels.layout import daily_columns
from scsim.ledger import quantities
from scsim.mechanisms import daily_columns as mechanism_columns
from scsim.scenario.load import (
    MAX_NESTING,
    ScenarioError,
    validate_scenario,
)
from scsim.scenario.model import Scenario

REQUIRED_FILES = ("summary.json", "ledger.json", "daily.parquet", "score_histogram.parquet")
OPTIONAL_FILES = ("grade_transitions.parquet", "traces.json", "stories.json", "run.parquet",
                  "ledger.parquet", "scenario.toml", "counterfactual.toml", "attribution.json")
MAX_JSON_BYTES = 256 * 2**20


class RunFolderError(ScsimError):
    """A run folder that cannot be read; the message names the file and the problem."""


# --- the JSON documents -----------------------------------------------------------


class _Document(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)


NonNegativeInt = Annotated[int, Field(ge=0)]


class StoredCounterfactual(_Document):
    label: str
    scenario: dict[str, Any]
    scenario_sha256: str


class StoredSummary(_Document):
    """What the views read from summary.json."""

    scenario: dict[str, Any]
    scenario_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scenario_file: str = ""
    counterfactual: StoredCounterfactual | None = None
    seed: NonNegativeInt
    population: Annotated[int, Field(gt=0)]
    days: Annotated[int, Field(gt=0)]
    version: str
    started_at: str = ""
    wall_time_s: Annotated[float, Field(ge=0)]
    peak_memory_bytes: NonNegativeInt
    threads: Annotated[int, Field(ge=1)]
    first_citizen_id: NonNegativeInt = 0
    declared_population: Annotated[int, Field(gt=0)] | None = None
    kernel: Literal["universal", "specialised"] = "specialised"
    """The kernel that ran (runs written before there was a choice: the specialised one)."""
    provenance: dict[str, Any] = {}


class LedgerEntry(_Document):
    value: int | float | None
    rate_per_100k: float | None
    ci95_per_100k: tuple[float, float] | None
    status: str


class LedgerRatio(_Document):
    ratio: float | None
    ci95: tuple[float, float] | None = None
    status: str


class LedgerGroup(_Document):
    citizens: NonNegativeInt
    small_group: bool
    quantities: dict[str, LedgerEntry]


class LedgerQuantity(_Document):
    side: str
    unit: str
    needs_counterfactual: bool
    measure: str
    description: str


class StoredLedger(_Document):
    """ledger.json as the views read it."""

    format: int
    scenario: str
    paired: bool
    counterfactual: str | None
    citizens: NonNegativeInt
    days: Annotated[int, Field(gt=0)]
    reference_group: str
    small_group_threshold: NonNegativeInt
    quantities: dict[str, LedgerQuantity]
    totals: dict[str, int | float | None]
    overall: dict[str, LedgerEntry]
    by_group: dict[str, LedgerGroup] = Field(min_length=1)
    disparity: dict[str, dict[str, LedgerRatio]]


class StoredEvent(_Document):
    day: int
    date: str
    text: str


class StoredStory(_Document):
    citizen: NonNegativeInt
    who: str
    household: str
    events: list[StoredEvent]
    outcome: str
    ledger: dict[str, int]


class StoredFigure(_Document):
    value: int
    ci95: Annotated[list[float], Field(min_length=2, max_length=2)] | None


class StoredAttributionPart(_Document):
    title: str
    skipped: str = ""
    adds: dict[str, StoredFigure] = {}
    share: dict[str, float | None] = {}
    known: dict[str, bool] = {}
    """Whether what it adds is known to be other than 0 (its interval excludes 0)."""


class StoredAttribution(_Document):
    """attribution.json: each benefit against none, and what each mechanism adds to it."""

    what: str
    benefits: list[str]
    total: dict[str, StoredFigure]
    mechanisms: dict[str, StoredAttributionPart]


class StoredTraces(_Document):
    run: str = ""
    counterfactual: str | None = None
    date_note: str = ""
    stories: list[StoredStory]


class StoredKindStory(StoredStory):
    kind: str
    caption: str


class StoredKindStories(_Document):
    counterfactual: str | None = None
    date_note: str = ""
    examples: dict[str, list[NonNegativeInt]]
    stories: list[StoredKindStory]


def _pydantic_problem(exc: ValidationError) -> str:
    errors = exc.errors()
    missing = [".".join(str(p) for p in e["loc"]) for e in errors if e["type"] == "missing"]
    if missing:
        return "no " + ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
    error = errors[0]
    where = ".".join(str(p) for p in error["loc"]) or "the document"
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{more}"


def _regular(path: Path) -> os.stat_result:
    """The file's status, if it is a regular file (a FIFO or device would hang a reader)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise RunFolderError(f"{path}: not a regular file")
    return info


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _json_depth(text: str) -> int:
    """The deepest nesting of objects and arrays in valid JSON text, from its brackets once
    its strings are removed (fast: a ledger has tens of thousands of values)."""
    brackets = np.frombuffer(_JSON_STRING.sub("", text).encode(), dtype=np.uint8)
    step = (np.isin(brackets, (ord("["), ord("{"))).astype(np.int64)
            - np.isin(brackets, (ord("]"), ord("}"))))
    return int(np.cumsum(step).max(initial=0))


def _json(path: Path, depth: bool = True) -> Any:
    """A JSON object read from a regular file of bounded size; with ``depth``, also of
    bounded nesting (the registry leaves that out for speed, and catches RecursionError)."""
    try:
        size = _regular(path).st_size
        if size > MAX_JSON_BYTES:
            raise RunFolderError(f"{path}: {size:,} bytes, too large to be a scsim file")
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing (not a complete scsim run folder)") from None
    except RecursionError:
        raise RunFolderError(f"{path}: corrupt (nested too deeply)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable or corrupt ({exc})") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: corrupt (expected a JSON object)")
    if depth and _json_depth(text) > MAX_NESTING:
        raise RunFolderError(f"{path}: corrupt (nested more than {MAX_NESTING} levels deep)")
    return data


def _document(path: Path, model: type[_Document]) -> Any:
    try:
        return model.model_validate(_json(path))
    except ValidationError as exc:
        raise RunFolderError(f"{path}: corrupt: {_pydantic_problem(exc)}") from None


def _scenario(data: dict[str, Any], sha256: str, where: str) -> Scenario:
    # The hash is checked on the scenario exactly as stored (its canonical JSON), so a run
    # written before the schema gained a field with a default still reads back.
    canonical = json.dumps(data, sort_keys=True)
    if hashlib.sha256(canonical.encode()).hexdigest() != sha256:
        raise RunFolderError(f"{where}: does not match its SHA-256 (the file was edited); "
                             "re-run the scenario instead")
    try:
        return validate_scenario(data, where).scenario
    except ScenarioError as exc:
        raise RunFolderError("; ".join(exc.lines())) from None


# --- the tables -------------------------------------------------------------------


def read_json_document(path: Path, model: type[BaseModel]) -> Any:
    """A JSON file validated by ``model``: RunFolderError naming the file and the problem."""
    try:
        return model.model_validate(_json(path))
    except ValidationError as exc:
        raise RunFolderError(f"{path}: corrupt: {_pydantic_problem(exc)}") from None


def _parquet(path: Path) -> pa.Table:
    try:
        _regular(path)
        return pq.ParquetFile(path).read(use_threads=False)
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing (not a complete scsim run folder)") from None
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise RunFolderError(f"{path}: unreadable or corrupt ({exc})") from None


def read_parquet(path: Path) -> pa.Table:
    """A Parquet file read whole: RunFolderError if it is missing, not a regular file or
    damaged."""
    return _parquet(path)


def _check_types(path: Path, table: pa.Table, expected: dict[str, str]) -> None:
    """Columns exactly as expected (names in order), each of its kind: int, float or string."""
    names = table.column_names
    if names != list(expected):
        missing = [c for c in expected if c not in names]
        extra = [c for c in names if c not in expected]
        detail = (f"missing {', '.join(missing[:5])}" if missing else
                  f"unexpected {', '.join(extra[:5])}" if extra else "columns out of order")
        raise RunFolderError(f"{path}: columns differ from what this scenario writes ({detail}; "
                             "written by another version of scsim? re-run it)")
    for name, kind in expected.items():
        t = table.schema.field(name).type
        ok = {"int": pa.types.is_integer(t),
              "float": pa.types.is_floating(t) or pa.types.is_integer(t),
              "string": pa.types.is_string(t) or pa.types.is_large_string(t),
              "date": pa.types.is_date(t) or pa.types.is_timestamp(t)}[kind]
        if not ok:
            raise RunFolderError(f"{path}: column {name!r} has type {t}, expected {kind}")
    for name in names:
        if table.column(name).null_count and name != "mean_score":
            raise RunFolderError(f"{path}: column {name!r} has missing values")


def _daily(path: Path, s: Scenario, counterfactual: Scenario | None
           ) -> dict[str, np.ndarray]:
    table = _parquet(path)
    paired = counterfactual is not None
    groups = [g.name for g in s.population.groups]
    channels = [name for name, c in s.channels.items() if c.false_attribution is not None]
    names = daily_columns(list(s.behaviours), [g.name for g in s.all_grades()], paired,
                          channels, mechanism_columns(s, counterfactual),
                          dated=s.run.start is not None,
                          turnover=s.population.turnover is not None)
    kinds = {name: "float" for name in names}
    kinds |= {"day": "int", "group": "string", "population": "int", "blacklisted": "int"}
    if s.run.start is not None:
        kinds["date"] = "date"
    _check_types(path, table, kinds)
    days, first = s.run.reported_days, s.run.first_reported_day
    if table.num_rows != days * len(groups):
        raise RunFolderError(f"{path}: {table.num_rows} rows, expected {days} days x "
                             f"{len(groups)} groups")
    day = table.column("day").to_numpy()
    if not np.array_equal(day, np.repeat(np.arange(first, s.run.days + 1), len(groups))):
        raise RunFolderError(f"{path}: rows are not days {first}..{s.run.days} in order, each "
                             "with every group")
    if table.column("group").to_pylist() != groups * days:
        raise RunFolderError(f"{path}: groups differ from the scenario's, or are out of order")
    if s.run.start is not None:
        from scsim.scenario.schedule import dates_of

        dates = table.column("date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
        if not np.array_equal(dates, dates_of(s, day)):
            raise RunFolderError(f"{path}: dates do not follow run.start {s.run.start} day by day")
    daily = {name: table.column(name).to_numpy(zero_copy_only=False).reshape(days, -1)
             for name in names if name not in ("group", "date")}
    fixed = s.population.turnover is None  # (with turnover it follows births and deaths)
    if (daily["population"] < 0).any() or (
            fixed and (daily["population"] != daily["population"][0]).any()):
        raise RunFolderError(f"{path}: population is negative or changes from day to day")
    return daily


def _ordered(path: Path, table: pa.Table, keys: list[np.ndarray]) -> None:
    """Rows sorted by the keys (lexicographically), with no repeated key."""
    if table.num_rows < 2:
        return
    stacked = np.stack(keys)
    earlier, later = stacked[:, :-1], stacked[:, 1:]
    ahead = np.zeros(table.num_rows - 1, dtype=bool)
    decided = np.zeros(table.num_rows - 1, dtype=bool)
    for a, b in zip(earlier, later, strict=True):
        ahead |= ~decided & (a < b)
        decided |= a != b
    if not ahead.all():
        raise RunFolderError(f"{path}: rows are out of order or repeated")


def _codes(path: Path, table: pa.Table, column: str, known: list[str]) -> np.ndarray:
    values = table.column(column).to_pylist()
    index = {name: k for k, name in enumerate(known)}
    unknown = next((v for v in values if v not in index), None)
    if unknown is not None:
        raise RunFolderError(f"{path}: unknown {column.replace('_', ' ')} {unknown!r}")
    return np.array([index[v] for v in values], dtype=np.int64)


def _histogram(path: Path, s: Scenario) -> pa.Table:
    table = _parquet(path)
    _check_types(path, table, {"day": "int", "group": "string", "score_low": "int",
                               "score_high": "int", "citizens": "int"})
    day = table.column("day").to_numpy()
    low = table.column("score_low").to_numpy()
    high = table.column("score_high").to_numpy()
    citizens = table.column("citizens").to_numpy()
    first = s.run.first_reported_day
    if table.num_rows and ((day < first) | (day > s.run.days)).any():
        raise RunFolderError(f"{path}: days outside {first}..{s.run.days}")
    lowest, highest = s.score_range()
    if table.num_rows and ((low < lowest) | (high > highest)
                           | (low > high) | (citizens <= 0)).any():
        raise RunFolderError(f"{path}: a bin outside the score range, or a count that is not "
                             "positive")
    groups = _codes(path, table, "group", [g.name for g in s.population.groups])
    _ordered(path, table, [day, groups, low])
    return table


def _transitions(path: Path, s: Scenario) -> pa.Table:
    table = _parquet(path)
    _check_types(path, table, {"day": "int", "group": "string", "from_grade": "string",
                               "to_grade": "string", "citizens": "int"})
    grades = [g.name for g in s.all_grades()]
    day = table.column("day").to_numpy()
    first = s.run.first_reported_day
    if table.num_rows and (((day < first) | (day > s.run.days)).any()
                           or (table.column("citizens").to_numpy() <= 0).any()):
        raise RunFolderError(f"{path}: days outside {first}..{s.run.days} or counts not "
                             "positive")
    groups = _codes(path, table, "group", [g.name for g in s.population.groups])
    a = _codes(path, table, "from_grade", grades)
    b = _codes(path, table, "to_grade", grades)
    _ordered(path, table, [day, groups, a * max(len(grades), 1) + b])
    return table


# --- the run ----------------------------------------------------------------------


def _check_ledger(path: Path, ledger: StoredLedger, s: Scenario,
                  counterfactual: Scenario | None) -> None:
    paired = counterfactual is not None
    groups = [g.name for g in s.population.groups]
    names = [q.name for q in quantities(s, counterfactual)]
    problems = []
    if list(ledger.by_group) != groups:
        problems.append("its groups are not the scenario's, in order")
    if ledger.reference_group != groups[0]:
        problems.append("its reference group is not the scenario's first group")
    if ledger.paired != paired:
        problems.append("it disagrees with summary.json on whether the run is paired")
    if ledger.days != s.run.days or ledger.scenario != s.name:
        problems.append("it describes another scenario or horizon")
    if ledger.citizens != sum(g.citizens for g in ledger.by_group.values()):
        problems.append("its citizens are not the sum of its groups'")
    for where, table in [("totals", ledger.totals), ("overall", ledger.overall),
                         ("quantities", ledger.quantities), ("disparity", ledger.disparity),
                         *((f"by_group.{g}", entry.quantities)
                           for g, entry in ledger.by_group.items())]:
        missing = [q for q in names if q not in table]
        if missing:
            problems.append(f"{where} lacks {', '.join(missing[:3])}")
            break
    else:
        for q, by_group in ledger.disparity.items():
            if list(by_group) != groups:
                problems.append(f"disparity.{q}: groups are not the scenario's")
                break
    if not problems:
        problems = _ledger_sums(ledger, names)
    if problems:
        raise RunFolderError(f"{path}: corrupt: {problems[0]}")


def _ledger_sums(ledger: StoredLedger, names: list[str]) -> list[str]:
    """The totals are the overall values, and each overall value the sum of its groups'."""
    for q in names:
        total, overall = ledger.totals[q], ledger.overall[q].value
        if total != overall:
            return [f"totals.{q} is {total!r}, but overall.{q} is {overall!r}"]
        if overall is None:
            continue
        groups = [entry.quantities[q].value for entry in ledger.by_group.values()]
        if any(v is None for v in groups) or sum(groups) != overall:
            return [f"overall.{q} ({overall!r}) is not the sum of its groups' values"]
    return []


def check_registry_rows(path: Path, ledger: dict[str, Any], summary: dict[str, Any]) -> None:
    """``run.parquet`` and ``ledger.parquet`` of the run folder ``path`` say what its
    ``ledger.json`` and ``summary.json`` say (so an edited row is refused, not reported)."""
    from scsim.registry import LEDGER_SCHEMA, ledger_rows

    run_file, ledger_file = path / "run.parquet", path / "ledger.parquet"
    if run_file.exists():
        table = _parquet(run_file)
        if table.num_rows != 1:
            raise RunFolderError(f"{run_file}: {table.num_rows} rows, expected one")
        row = table.to_pylist()[0]
        counterfactual = summary.get("counterfactual") or {}
        expected = {"scenario": summary["scenario"].get("name"),
                    "scenario_sha256": summary["scenario_sha256"],
                    "counterfactual": counterfactual.get("label"),
                    "counterfactual_sha256": counterfactual.get("scenario_sha256"),
                    "seed": summary["seed"], "population": summary["population"],
                    "days": summary["days"], **ledger["totals"]}
        wrong = next((k for k, v in expected.items() if row.get(k, "absent") != v), None)
        if wrong is not None:
            raise RunFolderError(f"{run_file}: {wrong} is {row.get(wrong, 'absent')!r}, but "
                                 f"the run's ledger.json and summary.json say {expected[wrong]!r} "
                                 "(the file was edited)")
    if ledger_file.exists():
        table = _parquet(ledger_file)
        if table.schema.names != LEDGER_SCHEMA.names:
            raise RunFolderError(f"{ledger_file}: columns differ from what scsim writes")
        want = ledger_rows("", ledger).drop_columns(["run"])
        have = table.drop_columns(["run"])
        try:
            same = have.cast(want.schema).equals(want)
        except (pa.ArrowException, ValueError):
            same = False
        if not same:
            raise RunFolderError(f"{ledger_file}: differs from the run's ledger.json (the file "
                                 "was edited)")


DIGESTED = ("ledger.json", "run.parquet", "ledger.parquet")
"""The files whose SHA-256 summary.json records (``files_sha256``): what the registry lists
a run by, checked at the cost of reading their bytes."""


def files_sha256(folder: Path) -> dict[str, str]:
    """The SHA-256 of each DIGESTED file of a run folder being written."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in DIGESTED}


def check_digests(path: Path, summary: dict[str, Any], names=DIGESTED) -> bool:
    """Whether summary.json records the files' digests (runs written before it did not);
    RunFolderError naming a file whose bytes are not those written with the run."""
    recorded = summary.get("files_sha256")
    if not isinstance(recorded, dict) or not all(
            isinstance(recorded.get(name), str) for name in DIGESTED):
        return False
    for name in names:
        try:
            _regular(path / name)
            digest = hashlib.sha256((path / name).read_bytes()).hexdigest()
        except FileNotFoundError:
            raise RunFolderError(f"{path / name}: missing (not a complete scsim run folder)") \
                from None
        except OSError as exc:
            raise RunFolderError(f"{path / name}: unreadable ({exc})") from None
        if digest != recorded[name]:
            raise RunFolderError(f"{path / name}: not the file written with the run (its "
                                 "SHA-256 differs from the one in summary.json: the file was "
                                 "edited or damaged)")
    return True


def check_listed_run(path: Path) -> None:
    """The checks a run folder passes to be listed in the registry (``scsim query``): quick
    enough for thousands of runs, so the stored scenario is checked by its SHA-256 only.

    summary.json is well formed; ledger.json, run.parquet and ledger.parquet are the files
    written with the run (their SHA-256 as summary.json records them), or, for a run written
    before summaries held digests, the ledger's totals are its overall values and the sums
    of its groups' and both tables say what the ledger says; daily.parquet is a readable
    Parquet file (its footer)."""
    try:
        _check_listed_run(path)
    except (RecursionError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
        # (JSON nested absurdly deep, or values of the right shape but the wrong kind)
        raise RunFolderError(f"{path}: corrupt ({type(exc).__name__})") from None


def _check_listed_run(path: Path) -> None:
    where = path / "summary.json"
    raw_summary = _json(where, depth=False)
    try:
        summary = StoredSummary.model_validate(raw_summary)
    except ValidationError as exc:
        raise RunFolderError(f"{where}: corrupt: {_pydantic_problem(exc)}") from None
    canonical = json.dumps(summary.scenario, sort_keys=True)
    if hashlib.sha256(canonical.encode()).hexdigest() != summary.scenario_sha256:
        raise RunFolderError(f"{where}: scenario does not match its SHA-256 (the file was "
                             "edited)")
    if not check_digests(path, raw_summary):  # a run written before summaries held digests
        _check_registry_files(path, raw_summary)
    _check_daily_footer(path / "daily.parquet")


def _check_registry_files(path: Path, raw_summary: dict[str, Any]) -> None:
    """ledger.json's sums, and run.parquet and ledger.parquet against it (the slow way)."""
    raw_ledger = _json(path / "ledger.json", depth=False)
    try:
        ledger = StoredLedger.model_validate(raw_ledger)
    except ValidationError as exc:
        raise RunFolderError(f"{path / 'ledger.json'}: corrupt: {_pydantic_problem(exc)}") \
            from None
    names = list(ledger.quantities)
    missing = next((q for q in names if q not in ledger.totals or q not in ledger.overall
                    or any(q not in g.quantities for g in ledger.by_group.values())), None)
    problems = ([f"{missing} is missing from its totals, overall or groups"] if missing
                else _ledger_sums(ledger, names))
    if problems:
        raise RunFolderError(f"{path / 'ledger.json'}: corrupt: {problems[0]}")
    for name in ("run.parquet", "ledger.parquet"):
        if not (path / name).is_file():
            raise RunFolderError(f"{path / name}: missing (not a complete scsim run folder)")
    check_registry_rows(path, raw_ledger, raw_summary)  # (as read; their shapes checked above)


def _check_daily_footer(daily: Path) -> None:
    try:
        _regular(daily)
        names = pq.read_schema(daily).names
    except FileNotFoundError:
        raise RunFolderError(f"{daily}: missing (not a complete scsim run folder)") from None
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise RunFolderError(f"{daily}: unreadable or corrupt ({exc})") from None
    if names[:2] != ["day", "group"] and names[:3] != ["day", "date", "group"]:
        raise RunFolderError(f"{daily}: columns differ from what scsim writes")


def _effective_scenario(path: Path, summary: StoredSummary, which: str) -> None:
    """``scenario.toml`` (or ``counterfactual.toml``) loads back to the run's scenario."""
    from scsim.scenario.load import load_scenario

    if which == "scenario.toml":
        want = summary.scenario_sha256
    elif summary.counterfactual is None:
        raise RunFolderError(f"{path / which}: an unpaired run has no counterfactual")
    else:
        want = summary.counterfactual.scenario_sha256
    try:
        loaded = load_scenario(path / which, {"population.size": summary.population})
    except ScenarioError as exc:
        raise RunFolderError(f"{path / which}: {exc.lines()[0]}") from None
    if loaded.sha256 != want:
        raise RunFolderError(f"{path / which}: is not the scenario the run ran (the file was "
                             "edited)")


@dataclass(frozen=True)
class StoredRun:
    """A run folder read back and checked: its summary, scenarios and the tables asked for."""

    path: Path
    summary: dict[str, Any]
    scenario: Scenario
    counterfactual: Scenario | None
    counterfactual_label: str | None
    ledger: dict[str, Any] | None = None
    daily: dict[str, np.ndarray] | None = None
    """Every column of daily.parquet but ``group`` as a (days, groups) array, days 1..T."""
    histogram: pa.Table | None = None
    transitions: pa.Table | None = None
    traces: dict[str, Any] | None = None
    stories: dict[str, Any] | None = None
    """stories.json: examples of each kind and one story of each (runs before it: None)."""
    attribution: dict[str, Any] | None = None
    """attribution.json (``scsim run --attribute``): where each benefit comes from."""

    @property
    def kernel(self) -> str:
        """The kernel the run took (its citizens are traced with the same one)."""
        return str(self.summary.get("kernel", "specialised"))

    @property
    def first_id(self) -> int:
        return int(self.summary.get("first_citizen_id", 0))

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def groups(self) -> list[str]:
        return [g.name for g in self.scenario.population.groups]

    @property
    def paired(self) -> bool:
        return self.counterfactual is not None

    @property
    def declared_population(self) -> int:
        """The scenario file's population, which a run with --population may have sampled."""
        return int(self.summary.get("declared_population") or self.scenario.population.size)


def read_run(path: Path, required: tuple[str, ...] = REQUIRED_FILES,
             optional: tuple[str, ...] = OPTIONAL_FILES) -> StoredRun:
    """Read and check the run folder: ``required`` files must exist; ``optional`` ones are
    read and checked when present; nothing else is read."""
    if not path.is_dir():
        raise RunFolderError(f"{path}: no such run folder")
    for name in ("summary.json", *required):
        if not (path / name).is_file():
            raise RunFolderError(f"{path / name}: missing (not a complete scsim run folder)")
    where = path / "summary.json"
    summary = _document(where, StoredSummary)
    scenario = _scenario(summary.scenario, summary.scenario_sha256, f"{where}: scenario")
    if (summary.seed, summary.population, summary.days) != (
            scenario.run.seed, scenario.population.size, scenario.run.days):
        raise RunFolderError(f"{where}: seed, population or days disagree with the stored "
                             "scenario (the file was edited)")
    found = set(required) | {name for name in optional if (path / name).exists()}
    counterfactual = None
    if summary.counterfactual is not None:
        counterfactual = _scenario(summary.counterfactual.scenario,
                                   summary.counterfactual.scenario_sha256,
                                   f"{where}: counterfactual.scenario")
    ledger = daily = histogram = transitions = traces = stories = None
    if "ledger.json" in found:
        stored_ledger = _document(path / "ledger.json", StoredLedger)
        _check_ledger(path / "ledger.json", stored_ledger, scenario, counterfactual)
        ledger = stored_ledger.model_dump(mode="json")
    if "daily.parquet" in found:
        daily = _daily(path / "daily.parquet", scenario, counterfactual)
        first = daily["population"][0]
        if scenario.population.turnover is not None:  # the ledger's are day 0's citizens
            first = first - daily["births"][0] + daily["deaths"][0]
        if ledger is not None and scenario.run.report_from is None and [
                int(x) for x in first] != [g["citizens"] for g in ledger["by_group"].values()]:
            raise RunFolderError(f"{path / 'ledger.json'}: citizens per group disagree with "
                                 "daily.parquet")
    if ledger is not None and found & {"run.parquet", "ledger.parquet"}:
        check_registry_rows(path, ledger, summary.model_dump(mode="json"))
    for which in ("scenario.toml", "counterfactual.toml"):
        if which in found:
            _effective_scenario(path, summary, which)
    if "score_histogram.parquet" in found:
        histogram = _histogram(path / "score_histogram.parquet", scenario)
    if "grade_transitions.parquet" in found:
        transitions = _transitions(path / "grade_transitions.parquet", scenario)
    if "traces.json" in found:
        traces = _document(path / "traces.json", StoredTraces).model_dump(mode="json")
    if "stories.json" in found:
        stories = _document(path / "stories.json", StoredKindStories).model_dump(mode="json")
        first = summary.first_citizen_id
        if any(not first <= c < first + scenario.population.size
               for ids in stories["examples"].values() for c in ids):
            raise RunFolderError(f"{path / 'stories.json'}: an example is not a citizen of "
                                 "this run")
    attribution = None
    if "attribution.json" in found:
        attribution = _attribution(path / "attribution.json")
    # last, so that a damaged file is named by what is wrong with it; an edit that leaves
    # every structure sound is still found
    check_digests(path, summary.model_dump(mode="json"),
                  [name for name in DIGESTED if name in found])
    return StoredRun(path, summary.model_dump(mode="json"), scenario, counterfactual,
                     summary.counterfactual.label if summary.counterfactual else None,
                     ledger, daily, histogram, transitions, traces, stories, attribution)


def _attribution(path: Path) -> dict[str, Any]:
    """attribution.json, checked: every mechanism that was switched off has a figure for
    each benefit, and no other."""
    document = _document(path, StoredAttribution).model_dump(mode="json")
    benefits = set(document["benefits"])
    if set(document["total"]) != benefits or any(
            not part["skipped"] and any(set(part[key]) != benefits
                                        for key in ("adds", "share", "known"))
            for part in document["mechanisms"].values()):
        raise RunFolderError(f"{path}: corrupt: its figures do not cover its benefits")
    return document
