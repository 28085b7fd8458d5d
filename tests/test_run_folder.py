"""The output contract: files, columns, summary, atomic writing, --force."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import scsim.runner
from scsim import __version__
from scsim.cli import app
from scsim.engine.sim import simulate
from scsim.kernels.layout import CONTRACT_COLUMNS
from scsim.scenario import load_scenario

from conftest import R0, SCENARIOS, r0

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["run", *args])


def test_run_writes_the_contract(tmp_path):
    out = tmp_path / "r0"
    result = run(str(R0), "--out", str(out), "--population", "5000", "--days", "30",
                 "--seed", "4")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "daily.parquet", "grade_transitions.parquet", "ledger.json", "ledger.parquet",
        "run.parquet", "scenario.toml", "score_histogram.parquet", "stories.json",
        "summary.json"]
    stories = json.loads((out / "stories.json").read_text())
    assert stories["examples"]["sanctioned"] == sorted(stories["examples"]["sanctioned"])
    assert stories["stories"][0]["kind"] in stories["examples"]
    daily = pq.read_table(out / "daily.parquet")
    assert tuple(daily.column_names[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert daily.num_rows == 30 * 2
    assert set(daily.column("group").to_pylist()) == {"majority", "minority"}
    assert daily.column("day").to_pylist()[:4] == [1, 1, 2, 2]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "seed", "version", "wall_time_s", "peak_memory_bytes",
                "citizen_days_per_s", "scenario_sha256", "bytes_per_citizen", "threads"):
        assert key in summary, key
    assert summary["seed"] == 4 and summary["version"] == __version__
    assert summary["scenario"]["population"]["size"] == 5000
    assert summary["scenario"]["run"]["days"] == 30
    assert summary["peak_memory_bytes"] > 10 * 2**20
    hist = pq.read_table(out / "score_histogram.parquet")
    per_day = {}
    for row in hist.to_pylist():
        per_day[(row["day"], row["group"])] = per_day.get((row["day"], row["group"]), 0) + \
            row["citizens"]
    populations = dict(zip(daily.column("group").to_pylist()[:2],
                           daily.column("population").to_pylist()[:2], strict=True))
    assert all(v == populations[g] for (_, g), v in per_day.items())
    assert "Ledger over 30 days" in result.output


def test_force_replaces_and_default_out_refuses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = run(str(R0), "--population", "1000", "--days", "5", "--quiet")
    assert first.exit_code == 0, first.output
    (out,) = (tmp_path / "runs").iterdir()
    assert out.name.startswith("r0-seed1-") and (out / "daily.parquet").exists()
    again = run(str(R0), "--population", "1000", "--days", "5", "--quiet")
    assert again.exit_code == 2 and "already exists" in again.stderr
    forced = run(str(R0), "--population", "1000", "--days", "5", "--quiet", "--force",
                 "--seed", "1")
    assert forced.exit_code == 0
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [out.name]


def test_default_folder_names_the_effective_scenario(tmp_path, monkeypatch):
    """--population, --days, --set and a counterfactual each give their own default folder."""
    monkeypatch.chdir(tmp_path)
    variants = [[], ["--days", "6"], ["--population", "1001"],
                ["--set", "behaviours.jaywalk.daily_rate=0.003"], ["--counterfactual", "none"]]
    for extra in variants:
        result = run(str(R0), "--population", "1000", "--days", "5", "--quiet", *extra)
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(names) == len(variants)
    # the later --population wins over the earlier one, so that variant is 1001 citizens
    assert all(n.startswith("r0-seed1-") for n in names)


@pytest.mark.parametrize("name", ["../../ESCAPED", "/tmp/abs", "..", "", "a/b\\c", "ÄÖ" * 60])
def test_default_folder_is_a_safe_slug_inside_runs(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    result = run(str(R0), "--population", "100", "--days", "2", "--quiet",
                 "--set", f"name={json.dumps(name)}")
    if name == "":
        assert result.exit_code == 2 and "name: String should have at least 1" in result.stderr
        return
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.parent == tmp_path / "runs"
    assert all(c.isalnum() or c == "-" for c in folder.name) and folder.name.isascii()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch, error):
    def broken(result):
        raise error

    monkeypatch.setattr(scsim.runner, "histogram_table", broken)
    out = tmp_path / "run"
    with pytest.raises(type(error)):
        scsim.runner.run_to_folder(load_scenario(R0, {"population.size": 100}), out)
    assert list(tmp_path.iterdir()) == []


def test_failure_with_force_keeps_the_old_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    loaded = load_scenario(R0, {"population.size": 100})
    scsim.runner.run_to_folder(loaded, out)
    before = (out / "daily.parquet").read_bytes()

    def broken(result):
        raise RuntimeError("boom")

    monkeypatch.setattr(scsim.runner, "histogram_table", broken)
    with pytest.raises(RuntimeError):
        scsim.runner.run_to_folder(loaded, out, force=True)
    assert (out / "daily.parquet").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_demo_scenario_runs(tmp_path):
    out = tmp_path / "demo"
    result = run(str(SCENARIOS / "demo.toml"), "--out", str(out), "--population", "20000",
                 "--days", "20", "--quiet")
    assert result.exit_code == 0, result.output
    daily = pq.read_table(out / "daily.parquet")
    assert set(daily.column("group").to_pylist()) == {"majority", "minority",
                                                      "targeted_minority"}
    assert "grade_aaa" in daily.column_names and "charity_recorded" in daily.column_names
    grades = [c for c in daily.column_names if c.startswith("grade_")]
    for row in daily.to_pylist():
        assert sum(row[g] for g in grades) == row["population"]


def test_progress_reports_every_piece():
    """Once per piece, with the citizens done so far (pieces may end in any order)."""
    seen = []
    simulate(r0(10_000, days=3), chunk_size=3000, progress=seen.append)
    steps = sorted(b - a for a, b in zip([0, *seen[:-1]], seen, strict=True))
    assert seen[-1] == 10_000 and steps == [1000, 3000, 3000, 3000]


def test_version_and_validate():
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and __version__ in version.output
    described = runner.invoke(app, ["validate", str(R0)])
    assert described.exit_code == 0
    assert "1,000,000 synthetic citizens over 365 days" in described.output
    assert "3 bytes per citizen" in described.output


def test_a_run_builds_its_daily_table_once(tmp_path, monkeypatch):
    """The folder's daily.parquet, the ledger's years and the summary printed read one table,
    built once from the result (``results.daily_table``), paired and dated."""
    import scsim.results

    built = []
    build = scsim.results._daily_table
    monkeypatch.setattr(scsim.results, "_daily_table",
                        lambda result: built.append(1) or build(result))
    national = SCENARIOS / "national-empty-list.toml"
    result = CliRunner().invoke(app, ["run", str(national), "--counterfactual", "none",
                                      "--population", "300", "--days", "40", "--out",
                                      str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "daily.parquet").is_file()
    assert built == [1]
