"""The Python API: the README's example runs as written, and the API behaves like the CLI."""

from __future__ import annotations

import shutil

import pytest

import scsim

from conftest import ROOT, SCENARIOS


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    code = text.split("## Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    run = scsim.read(tmp_path / "runs" / "notebook-demo")
    printed = capsys.readouterr().out
    assert str(run.ledger["totals"]["wrongly_sanctioned"]) in printed
    assert "sanctioned" in printed and "paired difference" in printed


def test_the_api_gives_what_the_cli_writes(tmp_path):
    from typer.testing import CliRunner

    from scsim.cli import app

    via_cli = tmp_path / "cli"
    result = CliRunner().invoke(app, ["run", str(SCENARIOS / "r0.toml"), "--out", str(via_cli),
                                      "--population", "5000", "--days", "50", "--quiet"])
    assert result.exit_code == 0
    loaded = scsim.load(SCENARIOS / "r0.toml", set={"population.size": 5000, "run.days": 50})
    via_api = scsim.run(loaded, tmp_path / "api")
    assert via_api.table("daily").equals(scsim.read(via_cli).table("daily"))
    assert via_api.ledger == scsim.read(via_cli).ledger
    assert list(via_api.frame("run")["sanctioned"]) == [via_api.ledger["totals"]["sanctioned"]]


def test_api_errors_are_the_clis(tmp_path):
    with pytest.raises(scsim.ScenarioError) as caught:
        scsim.load(SCENARIOS / "r0.toml", set={"behaviours.jaywalkk.daily_rate": 0.1})
    assert "unknown behaviour 'jaywalkk'" in caught.value.lines()[0]
    with pytest.raises(scsim.RunFolderError, match="no such run folder"):
        scsim.read(tmp_path / "nothing")
    with pytest.raises(scsim.ScenarioError, match="need about"):
        scsim.run(scsim.load(SCENARIOS / "r0.toml", set={"population.size": 10**13}),
                  tmp_path / "huge")
    assert not (tmp_path / "huge").exists()
    run = scsim.run(scsim.load(SCENARIOS / "r0.toml", set={"population.size": 100}),
                    tmp_path / "small")
    with pytest.raises(ValueError, match="unknown table 'dailly'"):
        run.table("dailly")
