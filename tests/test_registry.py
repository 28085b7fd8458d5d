"""The registry: run.parquet and ledger.parquet in every run folder, queried with DuckDB."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from scsim.cli import app
from scsim.ledger import quantities
from scsim.query import QueryError, run_query

from conftest import R0, SCENARIOS

runner = CliRunner()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Three R0 seeds, a paired demo run, and one nested a level deeper (hive-style)."""
    base = tmp_path_factory.mktemp("registry")
    for seed in (1, 2, 3):
        ran = runner.invoke(app, ["run", str(R0), "--out", str(base / f"r0-{seed}"), "--quiet",
                                  "--population", "3000", "--days", "40", "--seed", str(seed)])
        assert ran.exit_code == 0, ran.output
    for out in (base / "demo", base / "sweep" / "point=0" / "replicate=1"):
        ran = runner.invoke(app, ["run", str(SCENARIOS / "demo.toml"), "--out", str(out),
                                  "--quiet", "--population", "3000", "--days", "40",
                                  "--counterfactual", "none"])
        assert ran.exit_code == 0, ran.output
    return base


def _ledgers(root):
    return {str(p.parent.relative_to(root)): json.loads(p.read_text())
            for p in root.glob("**/ledger.json")}


def test_query_totals_equal_every_runs_ledger(root):
    ledgers = _ledgers(root)
    table = run_query("SELECT * FROM runs ORDER BY run", root)
    assert table.num_rows == len(ledgers) == 5
    for row in table.to_pylist():
        assert {q.name: row[q.name] for q in quantities()} == ledgers[row["run"]]["totals"]
    nested = run_query("SELECT run, point, replicate FROM runs WHERE point IS NOT NULL", root)
    assert nested.to_pylist() == [{"run": "sweep/point=0/replicate=1", "point": 0,
                                   "replicate": 1}]  # from the folder names


def test_ledger_view_holds_every_group_and_the_overall_figures(root):
    ledgers = _ledgers(root)
    rows = run_query("SELECT run, quantity, \"group\", value, rate_per_100k, ratio "
                     "FROM ledger", root).to_pylist()
    for row in rows:
        ledger = ledgers[row["run"]]
        if row["group"] == "all":
            assert row["value"] == ledger["overall"][row["quantity"]]["value"]
        else:
            entry = ledger["by_group"][row["group"]]["quantities"][row["quantity"]]
            assert row["value"] == entry["value"]
            assert row["ratio"] == ledger["disparity"][row["quantity"]][row["group"]]["ratio"]
    groups = {len(ledger["by_group"]) + 1 for ledger in ledgers.values()}
    assert len(rows) == sum((len(ledger["by_group"]) + 1) * len(quantities())
                            for ledger in ledgers.values()) and groups == {3, 4}


def test_daily_view_names_each_run(root):
    trips = run_query("SELECT run, sum(denied_trips) AS trips FROM daily GROUP BY run", root)
    for row in trips.to_pylist():
        path = root / row["run"] / "daily.parquet"  # run: the folder's path below the root
        assert row["trips"] == sum(pq.read_table(path).column("denied_trips").to_pylist())


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "parquet"])
def test_query_command_formats(root, tmp_path, fmt):
    out = tmp_path / f"result.{fmt}"
    result = runner.invoke(app, ["query", "SELECT run, sanctioned FROM runs ORDER BY run",
                                 "--root", str(root), "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "parquet":
        assert pq.read_table(out).num_rows == 5
    elif fmt == "json":
        assert len(json.loads(out.read_text())) == 5
    else:
        assert "r0-1" in out.read_text()


@pytest.mark.parametrize("args, message", [
    (["SELECT nope FROM runs"], "query failed: Binder Error"),
    (["SELECT 1", "--root", "/no/such/folder"], "/no/such/folder: no such folder"),
    (["SELECT 1", "--format", "xml"], "--format: expected one of table, csv, json, parquet"),
    (["SELECT 1", "--format", "parquet"], "--format parquet: give --out FILE"),
])
def test_bad_queries_get_one_line(root, args, message):
    if "--root" not in args:
        args = [*args, "--root", str(root)]
    result = runner.invoke(app, ["query", *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_an_empty_root_has_empty_views(tmp_path):
    assert run_query("SELECT count(*) AS n FROM runs", tmp_path).to_pylist() == [{"n": 0}]
    with pytest.raises(QueryError):
        run_query("SELECT * FROM nothing", tmp_path)


def test_the_readme_queries_run(root):
    """The README's example queries, read from the README itself, run on a registry."""
    import shlex

    from conftest import ROOT

    text = (ROOT / "README.md").read_text()
    block = text.split("## Many runs, one query", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.strip().splitlines():
        if line.startswith("scsim query"):
            commands.append(line)
        else:
            commands[-1] += " " + line.strip()
    assert len(commands) == 3
    for command in commands:
        args = shlex.split(command)[1:]
        result = runner.invoke(app, [*args, "--root", str(root)])
        assert result.exit_code == 0, (command, result.output)
        assert "0 rows" not in result.output
