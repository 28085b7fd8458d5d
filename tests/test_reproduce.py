"""The report's "To reproduce" command: run by a real shell, from the effective scenario the
run folder stores, it gives bit-identical outputs, whatever --set, --add, --population,
counterfactual or sweep made the run, and whatever the folder's name holds."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scsim.cli import app

from conftest import R0, SCENARIOS

runner = CliRunner()
SAME = ("daily.parquet", "score_histogram.parquet", "grade_transitions.parquet")
HOSTILE = "a run; $(touch pwned) `touch pwned2` 'q' -x"


def _command(run: Path) -> str:
    assert runner.invoke(app, ["report", str(run), "--force"]).exit_code == 0
    page = (run / "report.html").read_text()
    match = re.search(r"To reproduce, from the effective scenario.*?<code>(.*?)</code>", page,
                      re.DOTALL)
    assert match, "no command in the report"
    return html.unescape(match.group(1))


def _run_in_a_shell(command: str, where: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-c", command], cwd=where, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def _assert_reproduced(original: Path, again: Path) -> None:
    for name in SAME:
        assert (again / name).read_bytes() == (original / name).read_bytes(), name
    labels = [json.loads((run / "summary.json").read_text()).get("counterfactual") or {}
              for run in (original, again)]
    for name in ("ledger.json", "stories.json"):
        text = (again / name).read_text()
        if labels[0].get("label") != labels[1].get("label"):
            # the one difference: both name the counterfactual by the file given
            text = text.replace(json.dumps(labels[1]["label"])[1:-1],
                                json.dumps(labels[0]["label"])[1:-1])
        assert text == (original / name).read_text(), name


def test_a_run_with_sets_adds_a_sample_and_a_hostile_folder_name(tmp_path):
    run = tmp_path / HOSTILE
    result = runner.invoke(app, [
        "run", str(SCENARIOS / "demo.toml"), "--out", str(run), "--quiet", "--population",
        "3000", "--days", "40", "--seed", "11", "--counterfactual", "none",
        "--set", "behaviours.fare_evasion.daily_rate=0.004",
        "--add", "behaviours.loitering={daily_rate=0.001}"])
    assert result.exit_code == 0, result.output
    command = _command(run)
    assert command.startswith("scsim run ") and "--population 3000" in command
    _run_in_a_shell(command, tmp_path)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    again = tmp_path / (HOSTILE + "-again")
    _assert_reproduced(run, again)
    summary = json.loads((again / "summary.json").read_text())
    assert summary["declared_population"] == 1_000_000  # the file's size, as the original's
    assert summary["scenario_sha256"] == json.loads(
        (run / "summary.json").read_text())["scenario_sha256"]


def test_a_run_paired_with_another_file(tmp_path):
    run = tmp_path / "paired"
    result = runner.invoke(app, [
        "run", str(SCENARIOS / "safeguards.toml"), "--out", str(run), "--quiet",
        "--population", "1024", "--counterfactual",
        str(SCENARIOS / "national.toml")])
    assert result.exit_code == 0, result.output
    assert (run / "counterfactual.toml").is_file()
    command = _command(run)
    assert "counterfactual.toml" in command
    _run_in_a_shell(command, tmp_path)
    _assert_reproduced(run, tmp_path / "paired-again")


def test_a_run_of_a_sweep(tmp_path):
    """A sweep's run was made by a task (its scenario 'file' is a label); the stored effective
    scenario holds the point's values."""
    from scsim.experiments.tasks import make_task, run_task
    from scsim.scenario.load import load_scenario

    loaded = load_scenario(R0, {"population.size": 2000, "run.days": 30,
                                "measures.travel_ban.daily_trip_rate": 0.037})
    run = tmp_path / "sweep" / "point=3" / "replicate=1"
    outcome = run_task(make_task(loaded, None, 987654321, run, replicate=1, point=3,
                                 varied={"measures.travel_ban.daily_trip_rate": 0.037}))
    assert outcome["ok"], outcome
    command = _command(run)
    _run_in_a_shell(command, tmp_path)
    _assert_reproduced(run, run.with_name("replicate=1-again"))


def test_an_edited_effective_scenario_is_refused(tmp_path):
    run = tmp_path / "run"
    assert runner.invoke(app, ["run", str(R0), "--out", str(run), "--quiet", "--population",
                               "500", "--days", "5"]).exit_code == 0
    text = (run / "scenario.toml").read_text()
    (run / "scenario.toml").write_text(text.replace("seed = 1", "seed = 2"))
    result = runner.invoke(app, ["report", str(run), "--force"])
    assert result.exit_code == 2
    assert "scenario.toml: is not the scenario the run ran" in result.stderr


@pytest.mark.parametrize("name", ["-starts-with-a-dash", "with space", "quote'in"])
def test_odd_folder_names_are_one_argument_each(tmp_path, name):
    import shlex

    from scsim.io.run_dir import reproduce_command

    summary = {"population": 10, "counterfactual": None}
    words = shlex.split(reproduce_command(summary, Path(name)))
    assert words[2] == (f"./{name}" if name.startswith("-") else name) + "/scenario.toml"
    assert words[-1].endswith(f"{name}-again") and len(words) == 7
