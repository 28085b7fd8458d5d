"""Fuzzing scenario input: every perturbed file runs or exits 2 with one line, never a traceback.

Perturbations of the shipped scenarios (Hypothesis): a value replaced by one
of another type or an extreme number, a key deleted, renamed or added, a
value nested deeper, and raw text damage (bytes inserted, deleted or
repeated).  Valid results are run at a tiny size, so no input can hang the
test; the memory guard, the schema and the cross-references must reject
everything else with one line.
"""

from __future__ import annotations

import copy
import tomllib

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scsim.cli import app

from conftest import SCENARIOS

BASES = {p.name: tomllib.loads(p.read_text()) for p in sorted(SCENARIOS.glob("*.toml"))
         if "extends" not in p.read_text()}
EXTREMES = [0, -1, 1, 2**63, -(2**63), 2**64, 1e308, -1e308, 1e-320, 0.5, 1.0000001, True,
            "", "x", "[/x]", "\x7f", [], {}, [1, "a"], {"a": 1}]


def _paths(node, prefix=()):
    """Every (path to a value) in a parsed TOML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for k, value in enumerate(node):
            yield (*prefix, k)
            yield from _paths(value, (*prefix, k))


def _parent(doc, path):
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


values = st.one_of(
    st.sampled_from(EXTREMES).map(copy.deepcopy),  # never share (and mutate) a drawn list
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.integers(-5, 5), max_size=3),
)


@st.composite
def perturbed(draw):
    name = draw(st.sampled_from(sorted(BASES)))
    doc = tomllib.loads(tomli_w.dumps(BASES[name]))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        action = draw(st.sampled_from(["replace", "delete", "rename", "add", "nest"]))
        key = path[-1]
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[key + draw(st.sampled_from(["x", "_", "s"]))] = parent.pop(key)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "offences", "day", "grade_a"]))] = \
                draw(values)
        elif action == "nest":
            parent[key] = {"inner": parent[key]} if draw(st.booleans()) else [parent[key]]
    return doc


def _assert_clean(result, tmp_path):
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers


def _invoke(scenario, tmp_path, out_name):
    out = tmp_path / out_name
    return CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "--quiet",
                                    "--population", "300", "--days", "20", "--force"])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=perturbed())
def test_perturbed_scenarios_run_or_fail_in_one_line(tmp_path_factory, doc):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    scenario = tmp_path / "scenario.toml"
    try:
        scenario.write_text(tomli_w.dumps(doc))
    except (TypeError, ValueError):
        pytest.skip("not expressible as TOML")
    _assert_clean(_invoke(scenario, tmp_path, "run"), tmp_path)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(sorted(BASES)), data=st.data())
def test_damaged_text_runs_or_fails_in_one_line(tmp_path_factory, name, data):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    text = (SCENARIOS / name).read_bytes()
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "repeat"]))
        if action == "insert":
            text = text[:at] + data.draw(st.binary(min_size=1, max_size=4)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 40)):]
        else:
            text = text[:at] + text[at:at + 30] * data.draw(st.integers(2, 50)) + text[at:]
    scenario = tmp_path / "scenario.toml"
    scenario.write_bytes(text)
    _assert_clean(_invoke(scenario, tmp_path, "run"), tmp_path)
