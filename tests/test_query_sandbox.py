"""scsim query: one read-only statement over a checked list of complete runs, able to read
the runs' files and nothing else, write nothing, and refuse what it cannot do in one line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scsim.cli import app
from scsim.query import QueryError, complete_runs, run_query

from conftest import R0

runner = CliRunner()
SECRET = "CANARY-5f3a-never-read"


def _files(top: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``top`` with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in top.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A registry of two R0 runs under ``root``, and beside it, outside the root, a text file
    and a Parquet file that no query may read."""
    top = tmp_path_factory.mktemp("sandbox")
    root = top / "root"
    for seed in (1, 2):
        ran = runner.invoke(app, ["run", str(R0), "--out", str(root / f"r0-{seed}"), "--quiet",
                                  "--population", "2000", "--days", "20", "--seed", str(seed)])
        assert ran.exit_code == 0, ran.output
    (top / "secret.txt").write_text(SECRET + "\n")
    pq.write_table(pa.table({"secret": [SECRET]}), top / "secret.parquet")
    return top, root


def _query(root: Path, sql: str, *extra: str):
    # (after "--", a query may begin with "-", as a comment does)
    return runner.invoke(app, ["query", "--root", str(root), *extra, "--", sql])


@pytest.mark.parametrize("sql, message", [
    # writing files
    ("COPY (SELECT 1) TO '{top}/x.csv'", "only a read-only statement may run"),
    ("COPY runs TO '{top}/x.parquet' (FORMAT parquet)", "only a read-only statement may run"),
    ("ATTACH '{top}/x.duckdb' AS x", "only a read-only statement may run, not ATTACH"),
    ("EXPORT DATABASE '{top}/export'", "only a read-only statement may run, not EXPORT"),
    ("CREATE TABLE t AS SELECT 1", "only a read-only statement may run, not CREATE"),
    ("INSERT INTO runs VALUES (1)", "only a read-only statement may run, not INSERT"),
    ("DROP VIEW runs", "only a read-only statement may run, not DROP"),
    # stacked statements, even after a harmless one
    ("SELECT 1; COPY (SELECT 1) TO '{top}/x.csv'", "give exactly one statement"),
    ("SELECT 1; SELECT 2", "give exactly one statement"),
    # reading outside the registry
    ("SELECT * FROM read_text('{top}/secret.txt')", "file system operations are disabled"),
    ("SELECT * FROM read_text('/etc/passwd')", "file system operations are disabled"),
    ("SELECT * FROM read_csv('{top}/secret.txt')", "file system operations are disabled"),
    ("SELECT * FROM read_blob('{top}/secret.txt')", "file system operations are disabled"),
    ("SELECT * FROM read_parquet('{top}/secret.parquet')", "file system operations are disabled"),
    ("SELECT * FROM '{top}/secret.parquet'", "file system operations are disabled"),
    ("SELECT * FROM glob('{top}/*')", "file system operations are disabled"),
    ("FROM read_parquet('{root}/*/run.parquet')", "file system operations are disabled"),
    ("FROM read_parquet('{root}/r0-1/../../secret.parquet')",
     "file system operations are disabled"),
    ("FROM read_parquet('file://{top}/secret.parquet')", "file system operations are disabled"),
    # changing the configuration, extensions, pragmas
    ("SET enable_external_access = true", "only a read-only statement may run, not SET"),
    ("RESET lock_configuration", "only a read-only statement may run, not RESET"),
    ("INSTALL httpfs", "only a read-only statement may run, not INSTALL"),
    ("LOAD httpfs", "only a read-only statement may run, not LOAD"),
    ("PRAGMA version", "only a read-only statement may run, not PRAGMA"),
    ("CALL pragma_version()", "only a read-only statement may run, not CALL"),
    ("EXPLAIN SELECT 1", "only a read-only statement may run, not EXPLAIN"),
    ("", "the query is empty"),
    ("-- only a comment", "the query is empty"),
])
def test_what_a_query_may_not_do_is_refused_in_one_line(place, sql, message):
    top, root = place
    before = _files(top)
    result = _query(root, sql.format(top=top, root=root))
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert SECRET not in result.output
    assert _files(top) == before  # nothing written, nothing changed


@pytest.mark.parametrize("sql", [
    "SELECT run, sanctioned FROM runs ORDER BY run",
    "WITH t AS (SELECT run FROM runs) SELECT count(*) FROM t",
    "FROM ledger LIMIT 3",
    "DESCRIBE runs",
    "SUMMARIZE daily",
    "VALUES (1, 2)",
    "  -- a comment first\n  SELECT 1",
    "/* a block comment */ SELECT 1",
    "SHOW TABLES",
    "SELECT count(*) FROM read_parquet('{root}/r0-1/run.parquet')",  # a registry file
])
def test_read_only_statements_run(place, sql):
    _, root = place
    result = _query(root, sql.format(root=root))
    assert result.exit_code == 0, result.output


def test_the_configuration_cannot_be_unlocked(place):
    _, root = place
    table = run_query("SELECT name, value FROM duckdb_settings() WHERE name IN "
                      "('enable_external_access', 'lock_configuration')", root)
    assert {r["name"]: r["value"] for r in table.to_pylist()} == {
        "enable_external_access": "false", "lock_configuration": "true"}


def _registry_copy(place, tmp_path) -> Path:
    _, root = place
    copy = tmp_path / "root"
    shutil.copytree(root, copy)
    return copy


def _damage_run_parquet_value(folder: Path) -> None:
    table = pq.read_table(folder / "run.parquet")
    column = table.schema.get_field_index("sanctioned")
    pq.write_table(table.set_column(column, "sanctioned", pa.array([10**6])),
                   folder / "run.parquet")


def _edit_ledger_total(folder: Path) -> None:
    ledger = json.loads((folder / "ledger.json").read_text())
    ledger["totals"]["sanctioned"] += 1
    (folder / "ledger.json").write_text(json.dumps(ledger))


def _edit_ledger_parquet(folder: Path) -> None:
    table = pq.read_table(folder / "ledger.parquet")
    values = table.column("value").to_pylist()
    values[0] = (values[0] or 0) + 7
    pq.write_table(table.set_column(table.schema.get_field_index("value"), "value",
                                    pa.array(values, pa.int64())), folder / "ledger.parquet")


EDITED = "not the file written with the run"


@pytest.mark.parametrize("damage, reason, older", [
    # (older: the reason in a run folder written before summary.json held its files' digests)
    (lambda f: (f / "run.parquet").write_bytes(b"PAR1 not parquet"), EDITED,
     "run.parquet: unreadable"),
    (lambda f: (f / "run.parquet").write_bytes(b""), EDITED, "run.parquet: unreadable"),
    (lambda f: (f / "daily.parquet").write_bytes(b"garbage"), "daily.parquet: unreadable",
     "daily.parquet: unreadable"),
    (lambda f: (f / "ledger.parquet").unlink(), "ledger.parquet: missing",
     "ledger.parquet: missing"),
    (lambda f: (f / "ledger.json").write_text("{"), EDITED, "ledger.json: unreadable"),
    (lambda f: (f / "ledger.json").write_text("[]"), EDITED, "ledger.json: corrupt"),
    (lambda f: (f / "summary.json").write_text('{"scenario": 1}'), "summary.json: corrupt",
     "summary.json: corrupt"),
    (_damage_run_parquet_value, EDITED, "run.parquet: sanctioned is 1000000, but the run's"),
    (_edit_ledger_total, EDITED, "ledger.json: corrupt: totals.sanctioned is"),
    (_edit_ledger_parquet, EDITED, "ledger.parquet: differs from the run's ledger.json"),
    (lambda f: (os.remove(f / "run.parquet"),
                os.symlink(f.parents[1] / "secret.parquet", f / "run.parquet")),
     "a link to a file outside", "a link to a file outside"),
])
@pytest.mark.parametrize("written", ["now", "before digests"])
def test_a_damaged_or_edited_run_is_left_out_and_named(place, tmp_path, damage, reason, older,
                                                       written):
    top, _ = place
    shutil.copy(top / "secret.parquet", tmp_path / "secret.parquet")
    root = _registry_copy(place, tmp_path)
    if written != "now":  # as a run folder of an earlier scsim: checked the slow way
        for folder in root.iterdir():
            summary = json.loads((folder / "summary.json").read_text())
            del summary["files_sha256"]
            (folder / "summary.json").write_text(json.dumps(summary))
        reason = older
    damage(root / "r0-2")
    result = _query(root, "SELECT run, sanctioned FROM runs")
    assert result.exit_code == 0, result.output
    assert "r0-1" in result.stdout and "r0-2" not in result.stdout
    assert "1 row" in result.stdout
    assert "note: left out of the registry:" in result.stderr and reason in result.stderr, \
        result.stderr
    for view in ("ledger", "daily"):  # every view lists the same runs
        rows = run_query(f"SELECT DISTINCT run FROM {view}", root).to_pylist()
        assert rows == [{"run": "r0-1"}]


def test_hidden_and_linked_folders_are_not_runs(place, tmp_path):
    """A run being written (or left by a killed one) sits in a hidden partial folder; a
    symbolic link to a folder outside the root is not followed."""
    _, root = place
    copy = tmp_path / "root"
    copy.mkdir()
    shutil.copytree(root / "r0-1", copy / "r0-1")
    shutil.copytree(root / "r0-2", copy / ".r0-2.partial-123-abcdef12")
    shutil.copytree(root / "r0-2", copy / "sweep" / ".replicate=3.partial-5-0badcafe")
    outside = tmp_path / "elsewhere"
    shutil.copytree(root / "r0-2", outside / "r0-3")
    os.symlink(outside, copy / "linked")
    registry = complete_runs(copy)
    assert [p.name for p in registry.runs] == ["r0-1"] and registry.skipped == []
    assert run_query("SELECT run FROM runs", copy).to_pylist() == [{"run": "r0-1"}]


def test_results_are_bounded_in_memory_and_stream_to_files(place, tmp_path):
    _, root = place
    big = "SELECT range AS k FROM range(100001)"
    result = _query(root, big)
    assert result.exit_code == 2 and "more than 100,000 rows" in result.stderr
    assert _query(root, big, "--format", "json").exit_code == 2
    with pytest.raises(QueryError, match="more than 10 rows"):
        run_query("SELECT * FROM range(11)", root, max_rows=10)
    for fmt in ("csv", "parquet"):  # these stream, without the bound
        out = tmp_path / f"big.{fmt}"
        result = _query(root, big, "--format", fmt, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "wrote 100,001 rows" in result.stdout
        rows = (pq.read_table(out).num_rows if fmt == "parquet"
                else len(out.read_text().splitlines()) - 1)
        assert rows == 100_001


def test_json_has_null_where_a_float_is_not_finite(place):
    _, root = place
    result = _query(root, "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, "
                          "'-inf'::DOUBLE AS c, 1.5 AS d", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"a": None, "b": None, "c": None, "d": 1.5}]
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


# Fragments from which the fuzz builds query text: statements and functions that write or
# read files, paths inside and outside the registry, separators, and noise.
FRAGMENTS = [
    "SELECT", "FROM", "WITH", "COPY", "TO", "ATTACH", "EXPORT DATABASE", "INSTALL", "LOAD",
    "SET", "PRAGMA", "CALL", "CREATE TABLE t AS", "DESCRIBE", "SUMMARIZE", "runs", "ledger",
    "daily", "*", ",", "(", ")", ";", "--", "/*", "*/", "'", "1", "read_text(", "read_csv(",
    "read_blob(", "read_parquet(", "glob(", "'{top}/secret.txt'", "'{top}/secret.parquet'",
    "'{top}/out.csv'", "'/etc/passwd'", "'{root}/r0-1/run.parquet'", "'{root}/**/*.json'",
    "enable_external_access", "= true", "LIMIT 1", "UNION ALL", "\n", "\x1b[2J",
]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)),
                      min_size=1, max_size=12))
def test_fuzzed_queries_run_or_fail_in_one_line_and_read_nothing_outside(place, parts):
    top, root = place
    sql = " ".join(parts).replace("{top}", str(top)).replace("{root}", str(root))
    before = _files(top)
    result = _query(root, sql)
    assert result.exit_code in (0, 2), (sql, result.output)
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1, (sql, result.stderr)
    assert "Traceback" not in result.output
    assert SECRET not in result.output, sql
    assert _files(top) == before, sql


def test_reading_a_run_finds_an_edit_that_keeps_every_structure_sound(place, tmp_path):
    """A timing changed in run.parquet, or a description in ledger.json, leaves each file
    well formed and consistent with the others: the digests in summary.json still tell."""
    root = _registry_copy(place, tmp_path)
    run = root / "r0-1"
    table = pq.read_table(run / "run.parquet")
    index = table.schema.get_field_index("wall_time_s")
    pq.write_table(table.set_column(index, "wall_time_s", pa.array([0.001])),
                   run / "run.parquet")
    result = runner.invoke(app, ["report", str(run), "--force"])
    assert result.exit_code == 2 and "run.parquet: not the file written with the run" in \
        result.stderr, result.output
    ledger = json.loads((root / "r0-2" / "ledger.json").read_text())
    ledger["note"] = "edited"
    (root / "r0-2" / "ledger.json").write_text(json.dumps(ledger, indent=2) + "\n")
    result = runner.invoke(app, ["compare", str(root / "r0-2"), str(root / "r0-2")])
    assert result.exit_code == 2 and "ledger.json: not the file written" in result.stderr
