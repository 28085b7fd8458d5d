"""Read a run folder back, with a clear message for anything missing or damaged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scsim.scenario.load import ScenarioError, validate_scenario
from scsim.scenario.model import Scenario

REQUIRED_FILES = ("summary.json", "ledger.json", "daily.parquet", "score_histogram.parquet")
LEDGER_KEYS = ("totals", "overall", "by_group", "disparity", "reference_group", "paired")


class RunFolderError(Exception):
    """A run folder that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class StoredRun:
    path: Path
    summary: dict[str, Any]
    scenario: Scenario
    counterfactual: Scenario | None
    counterfactual_label: str | None

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

    @cached_property
    def ledger(self) -> dict[str, Any]:
        return _json(self.path / "ledger.json")

    @cached_property
    def traces(self) -> dict[str, Any] | None:
        path = self.path / "traces.json"
        return _json(path) if path.exists() else None

    @cached_property
    def daily(self) -> dict[str, np.ndarray]:
        """Every column of daily.parquet as a (days, groups) array, days 1..T in order."""
        table = _parquet(self.path / "daily.parquet")
        days, groups = self.scenario.run.days, self.groups
        if table.num_rows != days * len(groups):
            raise RunFolderError(f"{self.path / 'daily.parquet'}: {table.num_rows} rows, "
                                 f"expected {days} days x {len(groups)} groups")
        return {name: table.column(name).to_numpy(zero_copy_only=False).reshape(days, -1)
                for name in table.column_names if name != "group"}

    @cached_property
    def histogram(self) -> pa.Table:
        return _parquet(self.path / "score_histogram.parquet")

    @cached_property
    def transitions(self) -> pa.Table | None:
        path = self.path / "grade_transitions.parquet"
        return _parquet(path) if path.exists() else None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing (not a complete scsim run folder)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable or corrupt ({exc})") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: corrupt (expected a JSON object)")
    return data


def _parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing (not a complete scsim run folder)") from None
    except (OSError, pa.ArrowException) as exc:
        raise RunFolderError(f"{path}: unreadable or corrupt ({exc})") from None


def _scenario(data: Any, where: str) -> Scenario:
    if not isinstance(data, dict):
        raise RunFolderError(f"{where}: missing or not a scenario")
    try:
        return validate_scenario(data, where).scenario
    except ScenarioError as exc:
        raise RunFolderError("; ".join(exc.lines())) from None


def read_run(path: Path, required: tuple[str, ...] = REQUIRED_FILES) -> StoredRun:
    """The run's summary and scenarios; every file in ``required`` must exist."""
    if not path.is_dir():
        raise RunFolderError(f"{path}: no such run folder")
    for name in required:
        if not (path / name).is_file():
            raise RunFolderError(f"{path / name}: missing (not a complete scsim run folder)")
    summary = _json(path / "summary.json")
    scenario = _scenario(summary.get("scenario"), f"{path / 'summary.json'}: scenario")
    pairing = summary.get("counterfactual")
    counterfactual = None
    label = None
    if pairing is not None:
        if not isinstance(pairing, dict):
            raise RunFolderError(f"{path / 'summary.json'}: counterfactual: corrupt")
        counterfactual = _scenario(pairing.get("scenario"),
                                   f"{path / 'summary.json'}: counterfactual.scenario")
        label = str(pairing.get("label"))
    run = StoredRun(path, summary, scenario, counterfactual, label)
    if "ledger.json" in required:
        missing = [k for k in LEDGER_KEYS if k not in run.ledger]
        if missing:
            raise RunFolderError(f"{path / 'ledger.json'}: corrupt (no {', '.join(missing)})")
    if "daily.parquet" in required:
        run.daily  # noqa: B018 (read now, so that damage is reported before any work)
    if "score_histogram.parquet" in required:
        run.histogram  # noqa: B018
    return run
