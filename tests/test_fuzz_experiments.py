"""Fuzzing experiment files: every perturbed file fails in one line, exit 2, and writes nothing.

Each file is a valid sweep perturbed by Hypothesis: a value replaced by one of another type
or an extreme number, a key deleted or added, a varied path or the scenario named wrongly
(a folder, a FIFO, /dev/zero, a missing file), or its text damaged. The sweep is pointed at
a scheduler address where nothing listens, so even a file that survives every check ends
at the connection, in one line, before anything runs: the test can never hang or start
runs, and every outcome must be the same shape.
"""

from __future__ import annotations

import copy
import os
import socket
import tomllib

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scsim.cli import app

from conftest import R0

runner = CliRunner()
BASE = {
    "scenario": "r0.toml", "design": "lhs", "samples": 4, "replicates": 1, "seed": 5,
    "population": 1000, "days": 5, "counterfactual": "none",
    "set": {"behaviours.jaywalk.daily_rate": 0.001},
    "vary": [{"path": "measures.travel_ban.daily_trip_rate", "low": 0.001, "high": 0.05},
             {"path": "channels.bills.detection", "values": [0.5, 0.9]}],
}
SCENARIO_NAMES = ["r0.toml", "missing.toml", "folder", "fifo", "/dev/zero", "/dev/null",
                  "../r0.toml", "", "r0.toml\x00", "\x1b[2J.toml"]
PATHS = ["run.seed", "population.size", "run.days", "behaviours.nope.daily_rate", "x",
         "measures.travel_ban", "channels.bills.detection.x", "..", "", "schedule"]
EXTREMES = [0, -1, 1, 2, 7, 2**31, 2**63, -(2**63), 2**64, 10**9, 1e308, -1e308, 0.5, True,
            False, "", "x", "sobol", "grid", "morris", [], {}, [1, "a"], {"a": 1}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@st.composite
def experiments(draw) -> dict:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["value", "delete", "add", "scenario", "vary", "set"]))
        if kind == "value":
            key = draw(st.sampled_from(sorted(doc)))
            doc[key] = copy.deepcopy(draw(st.sampled_from(EXTREMES)))
        elif kind == "delete" and doc:
            doc.pop(draw(st.sampled_from(sorted(doc))))
        elif kind == "add":
            doc[draw(st.sampled_from(["colour", "Samples", "vary2", "out"]))] = 1
        elif kind == "scenario":
            doc["scenario"] = draw(st.sampled_from(SCENARIO_NAMES))
        elif kind == "vary" and isinstance(doc.get("vary"), list) and doc["vary"]:
            entry = doc["vary"][draw(st.integers(0, len(doc["vary"]) - 1))]
            if isinstance(entry, dict):
                field = draw(st.sampled_from(["path", "low", "high", "values", "extra"]))
                entry[field] = copy.deepcopy(draw(st.one_of(st.sampled_from(PATHS),
                                                            st.sampled_from(EXTREMES))))
        elif kind == "set":
            doc["set"] = {draw(st.sampled_from(PATHS)): copy.deepcopy(
                draw(st.sampled_from(EXTREMES)))}
    return doc


def _text(doc: dict) -> str:
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):  # (a value TOML cannot hold: write it as a string)
        return tomli_w.dumps({k: str(v) for k, v in doc.items()})


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    top = tmp_path_factory.mktemp("fuzz-experiments")
    (top / "r0.toml").write_text(R0.read_text())
    (top / "folder").mkdir()
    os.mkfifo(top / "fifo")
    return top


def _check(place, text: str) -> None:
    experiment = place / "experiment.toml"
    experiment.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = place / "out"
    before = sorted(p.name for p in place.iterdir())
    result = runner.invoke(app, ["sweep", str(experiment), "--out", str(out), "--quiet",
                                 "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    assert result.exit_code == 2, (text, result.output)
    assert result.stderr.count("\n") == 1, (text, result.stderr)
    assert "Traceback" not in result.output
    assert not out.exists() and sorted(p.name for p in place.iterdir()) == before


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=experiments())
def test_perturbed_experiment_files_fail_in_one_line(place, doc):
    _check(place, _text(doc))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cut=st.integers(0, 400), insert=st.text(max_size=6), drop=st.integers(0, 5))
def test_damaged_experiment_text_fails_in_one_line(place, cut, insert, drop):
    text = tomli_w.dumps(BASE)
    cut = min(cut, len(text))
    _check(place, text[:cut] + insert + text[cut + drop:])


def test_the_base_file_is_valid_and_ends_at_the_connection(place):
    """The perturbations start from a file that passes every check: only the scheduler,
    where nothing listens, stops it."""
    experiment = place / "experiment.toml"
    experiment.write_text(tomli_w.dumps(BASE))
    result = runner.invoke(app, ["sweep", str(experiment), "--out", str(place / "out"),
                                 "--quiet", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    assert result.exit_code == 2 and "cannot connect" in result.stderr, result.output
    assert tomllib.loads(experiment.read_text()) == BASE
