"""Where each benefit comes from (``scsim attribute``): the scenario paired with itself less
one mechanism measures what that mechanism adds, exactly per citizen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scsim.attribution import NAMING, attribute, switchable, without
from scsim.cli import app
from scsim.scenario.load import ScenarioError, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
runner = CliRunner()


@pytest.fixture(scope="module")
def national():
    s = load_scenario(SCENARIOS / "national-empty-list.toml", {"population.size": 200_000}).scenario
    return s, attribute(s)


def test_each_measure_and_deterrence_is_switched_off_in_turn(national):
    s, result = national
    names = [p.name for p in result.parts]
    assert names == ["prosecution", "deterrence", "employment_penalty", "school_admission",
                     "speech_suspension", "travel_ban"]
    assert result.benefits == ("behaviours_prevented", "judgments_performed_under_pressure")
    less = without(s, "travel_ban")
    assert less.measures.travel_ban is None and less.measures.school_admission is not None
    assert not any(p.startswith("measures.travel_ban") for p in less.sources)


def test_what_costs_nothing_adds_nothing_and_the_costly_add_what_pairing_says(national):
    """Speech suspension and prosecution cost a debtor nothing and deterrence does not deter
    defaults in national (offence_sensitivity 0): each adds exactly 0 to both benefits.  The
    school sanction, most of the listed adult's cost, adds a part whose interval excludes 0."""
    _, result = national
    for name in ("speech_suspension", "prosecution", "deterrence"):
        part = next(p for p in result.parts if p.name == name)
        assert all(f.value == 0 for f in part.adds.values()), name
    school = next(p for p in result.parts if p.name == "school_admission")
    for b in result.benefits:
        assert school.adds[b].ci95[0] > 0, b
        assert 0 < result.share("school_admission", b) <= 1.5


def test_in_the_shaming_trial_naming_brings_every_deterred_late_payment():
    """Naming is the trial's only cost, and nothing but the response deters: without it a
    borrower commits exactly what they would without the list, so its share is exactly 1."""
    s = load_scenario(SCENARIOS / "shaming-trial.toml").scenario
    assert switchable(s) == [(NAMING, "public naming")]
    result = attribute(s)
    assert result.total["behaviours_prevented"].value > 100
    assert result.share(NAMING, "behaviours_prevented") == 1.0


def test_a_mechanism_that_another_needs_is_reported_not_switched_off():
    """In national-pilots the school priority is given at school admission: admission cannot
    be switched off alone, and the attribution says so instead of changing the scenario."""
    # (without the history's schedule: its 45 periods' tables cost seconds a run, and the
    # attribution makes a dozen; the rule tested does not depend on dates)
    s = load_scenario(SCENARIOS / "national-pilots.toml",
                      {"population.size": 2_000, "schedule": []}).scenario
    with pytest.raises(ScenarioError, match=r"measures\.school_priority: priority is given "
                                            r"at school admission"):
        without(s, "school_admission")
    part = next(p for p in attribute(s).parts if p.name == "school_admission")
    assert part.skipped.startswith("cannot be switched off alone") and not part.adds


def test_the_command_prints_a_table_per_benefit_and_writes_json_once(tmp_path):
    out = tmp_path / "attribution.json"
    args = ["attribute", str(SCENARIOS / "shaming-trial.toml"), "--json", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "behaviours prevented" in text and "public naming" in text and "100%" in text
    document = json.loads(out.read_text())
    assert document["mechanisms"][NAMING]["share"]["behaviours_prevented"] == 1.0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists already" in again.output
    assert json.loads(out.read_text()) == document


def test_a_run_with_attribute_stores_it_and_its_report_shows_it(tmp_path):
    """``scsim run --attribute`` writes the same attribution as ``scsim attribute``; the report
    shows a row per mechanism, and a damaged attribution.json is one line, exit 2."""
    trial = SCENARIOS / "shaming-trial.toml"
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(trial), "--counterfactual", "none", "--attribute",
                                 "--report", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    stored = json.loads((out / "attribution.json").read_text())
    assert stored == attribute(load_scenario(trial).scenario).to_json()
    page = (out / "report.html").read_text()
    assert "id='attribution-table'" in page and "without public naming" in page
    assert "100% of it" in page and "id='no-attribution'" not in page
    plain = tmp_path / "plain"
    assert runner.invoke(app, ["run", str(trial), "--counterfactual", "none", "--report",
                               "--out", str(plain), "-q"]).exit_code == 0
    page = (plain / "report.html").read_text()  # (it says how to get one)
    assert "id='no-attribution'" in page and "attribution-table" not in page
    (out / "attribution.json").write_text(json.dumps({**stored, "benefits": ["nothing"]}))
    damaged = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "r.html")])
    assert damaged.exit_code == 2
    assert "attribution.json: corrupt: its figures do not cover its benefits" in damaged.output
