"""Every reader of run folders against every kind of damage to every file it reads.

Each damaged copy of a paired demo run (with grades, transitions and saved
life stories) is given to report, plot, compare and trace.  A reader that
reads the damaged file must exit 2 with one line naming it, never a
traceback and never a different story; a reader that does not read it must
still work.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from scsim.cli import app

from conftest import SCENARIOS

runner = CliRunner()

READS = {
    "report": {"summary.json", "ledger.json", "daily.parquet", "score_histogram.parquet",
               "grade_transitions.parquet", "traces.json", "stories.json"},
    "plot": {"summary.json", "ledger.json", "daily.parquet", "score_histogram.parquet",
             "grade_transitions.parquet", "traces.json", "stories.json"},
    "compare": {"summary.json", "ledger.json", "daily.parquet", "score_histogram.parquet"},
    "trace": {"summary.json", "stories.json"},
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "demo"
    ran = runner.invoke(app, ["run", str(SCENARIOS / "demo.toml"), "--out", str(out),
                              "--population", "3000", "--days", "40", "--quiet",
                              "--counterfactual", "none"])
    assert ran.exit_code == 0, ran.output
    traced = runner.invoke(app, ["trace", str(out), "--sample", "2", "--save"])
    assert traced.exit_code == 0, traced.output
    assert {p.name for p in out.iterdir()} >= READS["report"]
    return out


def _edit_json(name: str, change: Callable[[dict], None]):
    def damage(folder: Path) -> None:
        data = json.loads((folder / name).read_text())
        change(data)
        (folder / name).write_text(json.dumps(data))
    return damage


def _bytes(name: str, make: Callable[[bytes], bytes]):
    def damage(folder: Path) -> None:
        (folder / name).write_bytes(make((folder / name).read_bytes()))
    return damage


def _table(name: str, change: Callable[[pa.Table], pa.Table]):
    def damage(folder: Path) -> None:
        pq.write_table(change(pq.read_table(folder / name)), folder / name)
    return damage


def _delete(name: str):
    return lambda folder: (folder / name).unlink()


def _set(path: str, value):
    def change(data: dict) -> None:
        *parents, leaf = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value
    return change


def _first_group(change):
    return lambda data: change(next(iter(data["by_group"].values())))


def _reversed(table: pa.Table) -> pa.Table:
    return table.take(list(range(table.num_rows - 1, -1, -1)))


def _retyped(column: str):
    def change(table: pa.Table) -> pa.Table:
        k = table.column_names.index(column)
        return table.set_column(k, column, pa.array([str(v) for v in table.column(k).to_pylist()]))
    return change


DEEP = '{"a": ' * 5000 + "1" + "}" * 5000
JSON_FILES = ("summary.json", "ledger.json", "traces.json", "stories.json")
PARQUET_FILES = ("daily.parquet", "score_histogram.parquet", "grade_transitions.parquet")

DAMAGE: dict[str, tuple[str, Callable[[Path], None]]] = {}
for name in JSON_FILES + PARQUET_FILES:
    DAMAGE[f"{name}: deleted"] = (name, _delete(name))
    DAMAGE[f"{name}: truncated"] = (name, _bytes(name, lambda b: b[: len(b) // 2]))
    DAMAGE[f"{name}: empty"] = (name, _bytes(name, lambda b: b""))
    DAMAGE[f"{name}: garbage"] = (name, _bytes(name, lambda b: b"\x00\xff garbage" * 40))
for name in JSON_FILES:
    DAMAGE[f"{name}: deep nesting"] = (name, _bytes(name, lambda b: DEEP.encode()))
    DAMAGE[f"{name}: a list, not an object"] = (name, _bytes(name, lambda b: b"[1, 2]"))
DAMAGE |= {
    "summary: a rate edited": ("summary.json", _edit_json(
        "summary.json", _set("scenario.behaviours.traffic_offence.daily_rate", 0.5))),
    "summary: seed edited": ("summary.json", _edit_json("summary.json", _set("seed", 99))),
    "summary: seed edited in the scenario": ("summary.json", _edit_json(
        "summary.json", _set("scenario.run.seed", 99))),
    "summary: population edited": ("summary.json", _edit_json(
        "summary.json", _set("population", 10))),
    "summary: counterfactual edited": ("summary.json", _edit_json(
        "summary.json", _set("counterfactual.scenario.name", "other"))),
    "summary: no scenario": ("summary.json", _edit_json(
        "summary.json", lambda d: d.pop("scenario"))),
    "summary: wall time a string": ("summary.json", _edit_json(
        "summary.json", _set("wall_time_s", "fast"))),
    "summary: threads negative": ("summary.json", _edit_json(
        "summary.json", _set("threads", -1))),
    "summary: hash not a hash": ("summary.json", _edit_json(
        "summary.json", _set("scenario_sha256", "abc"))),
    "ledger: by_group empty": ("ledger.json", _edit_json("ledger.json", _set("by_group", {}))),
    "ledger: a group renamed": ("ledger.json", _edit_json(
        "ledger.json", lambda d: d.update(by_group={("x" + k if i == 1 else k): v for i, (k, v)
                                                    in enumerate(d["by_group"].items())}))),
    "ledger: citizens a string": ("ledger.json", _edit_json(
        "ledger.json", _first_group(_set("citizens", "many")))),
    "ledger: citizens changed": ("ledger.json", _edit_json(
        "ledger.json", _first_group(_set("citizens", 5)))),
    "ledger: an entry without its rate": ("ledger.json", _edit_json(
        "ledger.json", _first_group(lambda g: g["quantities"]["sanctioned"].pop(
            "rate_per_100k")))),
    "ledger: a quantity missing": ("ledger.json", _edit_json(
        "ledger.json", lambda d: d["overall"].pop("trips_denied"))),
    "ledger: an interval of three": ("ledger.json", _edit_json(
        "ledger.json", lambda d: d["overall"]["sanctioned"].update(ci95_per_100k=[1, 2, 3]))),
    "ledger: disparity a list": ("ledger.json", _edit_json(
        "ledger.json", _set("disparity", []))),
    "ledger: paired flipped": ("ledger.json", _edit_json("ledger.json", _set("paired", False))),
    "ledger: another horizon": ("ledger.json", _edit_json("ledger.json", _set("days", 7))),
    "ledger: totals a list": ("ledger.json", _edit_json("ledger.json", _set("totals", [1]))),
    "traces: stories a string": ("traces.json", _edit_json(
        "traces.json", _set("stories", "none"))),
    "traces: an event without text": ("traces.json", _edit_json(
        "traces.json", lambda d: d["stories"][0]["events"].append({"day": 1, "date": "x"}))),
    "stories: an example not of the run": ("stories.json", _edit_json(
        "stories.json", lambda d: d["examples"]["sanctioned"].append(10**9))),
    "stories: a story without its kind": ("stories.json", _edit_json(
        "stories.json", lambda d: d["stories"][0].pop("kind"))),
    "daily: rows reversed": ("daily.parquet", _table("daily.parquet", _reversed)),
    "daily: a column dropped": ("daily.parquet", _table(
        "daily.parquet", lambda t: t.drop_columns(["blacklisted"]))),
    "daily: a column added": ("daily.parquet", _table(
        "daily.parquet", lambda t: t.append_column("extra", pa.array([0] * t.num_rows)))),
    "daily: day as text": ("daily.parquet", _table("daily.parquet", _retyped("day"))),
    "daily: counts as text": ("daily.parquet", _table("daily.parquet",
                                                      _retyped("denied_trips"))),
    "daily: a day missing": ("daily.parquet", _table(
        "daily.parquet", lambda t: t.slice(0, t.num_rows - 3))),
    "daily: a group renamed": ("daily.parquet", _table("daily.parquet", lambda t: t.set_column(
        1, "group", pa.array(["other" if g == "minority" else g
                              for g in t.column("group").to_pylist()])))),
    "histogram: rows reversed": ("score_histogram.parquet", _table(
        "score_histogram.parquet", _reversed)),
    "histogram: a column dropped": ("score_histogram.parquet", _table(
        "score_histogram.parquet", lambda t: t.drop_columns(["citizens"]))),
    "histogram: an unknown group": ("score_histogram.parquet", _table(
        "score_histogram.parquet", lambda t: t.set_column(1, "group", pa.array(
            ["nobody"] * t.num_rows)))),
    "transitions: rows reversed": ("grade_transitions.parquet", _table(
        "grade_transitions.parquet", _reversed)),
    "transitions: an unknown grade": ("grade_transitions.parquet", _table(
        "grade_transitions.parquet", lambda t: t.set_column(2, "from_grade", pa.array(
            ["z"] * t.num_rows)))),
    "transitions: counts as text": ("grade_transitions.parquet", _table(
        "grade_transitions.parquet", _retyped("citizens"))),
}
OPTIONAL = {"grade_transitions.parquet", "traces.json", "stories.json"}


def _invoke(command: str, folder: Path, pristine: Path, tmp_path: Path):
    args = {
        "report": ["report", str(folder), "--out", str(tmp_path / "report.html")],
        "plot": ["plot", str(folder), "--out", str(tmp_path / "figures")],
        "compare": ["compare", str(pristine), str(folder)],
        "trace": ["trace", str(folder), "--citizen", "1"],
    }[command]
    return runner.invoke(app, args)


@pytest.mark.parametrize("command", list(READS))
@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_run_folder(pristine, tmp_path, case, command):
    name, damage = DAMAGE[case]
    folder = tmp_path / "damaged"
    shutil.copytree(pristine, folder)
    damage(folder)
    result = _invoke(command, folder, pristine, tmp_path)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    deleted_optional = case.endswith("deleted") and name in OPTIONAL
    if name not in READS[command] or deleted_optional:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {folder / name}"), result.stderr
