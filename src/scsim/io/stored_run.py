"""Read a run folder back, with a clear message for anything missing or damaged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scsim.scenario.load import ScenarioError, validate_scenario
from scsim.scenario.model import Scenario

REQUIRED_FILES = ("summary.json", "ledger.json", "daily.parquet", "score_histogram.parquet")


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
    return StoredRun(path, summary, scenario, counterfactual, label)
