"""SQL over many run folders: DuckDB views of every complete run below a root.

Views (built from the files, no database file):

* ``runs``: every ``run.parquet``, one row per run (identity, varied
  parameters, ledger totals, timings);
* ``ledger``: every ``ledger.parquet``, one row per run, quantity and group;
* ``daily``: every ``daily.parquet``;
* ``particles``: every fit's ``particles.parquet`` (``scsim fit``), one row per
  particle of each generation, with ``fit``, the fit folder's path below the
  root.

In every view ``run`` is the run folder's path below the root, e.g.
``r0-seed1-1a2b3c4d`` or ``my-sweep/point=3/replicate=1``.

Files are combined by column name, so runs of different scenarios (other
behaviours, other varied parameters) sit in one view with nulls where a
column does not apply; hive-style folder names (``point=3/replicate=1``)
give the ``point`` and ``replicate`` columns.

The views are built from a checked list of complete runs
(:func:`complete_runs`): hidden folders (a run being written, or left by a
killed one) are not runs, and a run folder whose files are damaged, edited
or disagree with one another is left out and named, so that one bad folder
neither breaks every query nor is reported as if it were sound.

A query is one read-only statement (``SELECT``, ``WITH``, ``FROM``,
``VALUES``, ``DESCRIBE``, ``SUMMARIZE``, ``SHOW``) and can read only the files
of the listed runs: once the views are bound, DuckDB's external access is
switched off but for those files, and its configuration is locked. So a
query can neither write a file nor read one outside the registry, whoever
typed it (a dashboard, a notebook, a shared registry).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from scsim.errors import ScsimError

FORMATS = ("table", "csv", "json", "parquet")
VIEW_FILES = {"runs": "run.parquet", "ledger": "ledger.parquet", "daily": "daily.parquet"}
MAX_ROWS = 100_000
"""Most rows of a result held in memory (the table and JSON formats); CSV and Parquet stream."""
MAX_QUERY_CHARS = 100_000
READ_ONLY_KEYWORDS = ("select", "with", "from", "values", "describe", "summarize", "show",
                      "table", "(")
"""How a read-only statement may begin."""


_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)


class QueryError(ScsimError):
    """A query that cannot run; the message says why in one line."""


@dataclass
class Registry:
    """The complete runs below a root, and the folders left out (with the reason)."""

    root: Path
    runs: list[Path] = field(default_factory=list)
    """Run folders, resolved, in path order."""
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    fits: list[Path] = field(default_factory=list)
    """Fit folders (``scsim fit``) with their particles, resolved, in path order."""


def _inside(path: Path, root: Path) -> bool:
    return os.path.realpath(path).startswith(str(root) + os.sep)


def _run_folders(root: Path, marker: str = "summary.json") -> Iterator[Path]:
    """Folders holding ``marker`` below ``root``, never inside a hidden folder and never
    through a symbolic link."""
    for folder, subfolders, files in os.walk(root, onerror=None, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        if marker in files:
            yield Path(folder)


_CHECKED: dict[Path, tuple[tuple, str | None]] = {}
"""Run folders this process has checked: the files' identity (device, inode, size,
modification time) and what was wrong, if anything; a folder whose files are unchanged is
not read again (a notebook or a dashboard queries the same registry many times)."""


def _signature(files: list[Path]) -> tuple | None:
    try:
        return tuple((s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
                     for s in (f.stat() for f in files))
    except OSError:
        return None


def complete_runs(root: Path) -> Registry:
    """Every complete, consistent run folder below ``root`` (see ``check_listed_run``)."""
    from scsim.io.stored_run import RunFolderError, check_listed_run

    if not root.is_dir():
        raise QueryError(f"{root}: no such folder")
    from concurrent.futures import ThreadPoolExecutor

    resolved = root.resolve()

    def problem(folder: Path) -> str | None:
        files = [folder / name for name in ("summary.json", "ledger.json", *VIEW_FILES.values())]
        outside = next((f for f in files if f.exists() and not _inside(f, resolved)), None)
        if outside is not None:
            return f"{outside}: a link to a file outside {root}"
        signature = _signature(files)
        known = _CHECKED.get(folder)
        if signature is not None and known is not None and known[0] == signature:
            return known[1]
        try:
            check_listed_run(folder)
            why = None
        except RunFolderError as exc:
            why = str(exc)
        if signature is not None:
            _CHECKED[folder] = (signature, why)
        return why

    registry = Registry(resolved)
    for folder in _run_folders(resolved, "fit.json"):
        particles = folder / "particles.parquet"
        if not particles.is_file():
            continue  # (a fit that has not finished a generation yet)
        if not _inside(particles, resolved):
            registry.skipped.append((folder, f"{particles}: a link to a file outside {root}"))
        else:
            registry.fits.append(folder)
    folders = list(_run_folders(resolved))
    found: dict[Path, str | None] = {}
    unknown = []
    for folder in folders:  # a folder checked before, unchanged: no thread needed
        known = _CHECKED.get(folder)
        files = [folder / name for name in ("summary.json", "ledger.json",
                                            *VIEW_FILES.values())]
        if known is not None and known[0] == _signature(files) and all(
                _inside(f, resolved) for f in files if f.is_symlink()):
            found[folder] = known[1]
        else:
            unknown.append(folder)
    if unknown:
        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
            found.update(zip(unknown, pool.map(problem, unknown), strict=True))
    for folder in folders:
        why = found[folder]
        if why is None:
            registry.runs.append(folder)
        else:
            registry.skipped.append((folder, why))
    return registry


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _from_path(key: str) -> str:
    """A hive-style ``key=N`` folder name on the file's path, as a number (null if absent)."""
    return f"TRY_CAST(NULLIF(regexp_extract(filename, '/{key}=([0-9]+)/', 1), '') AS BIGINT)"


def connect(root: Path, registry: Registry | None = None):
    """A DuckDB connection with the views over the complete runs below ``root``, able to read
    those files and nothing else."""
    import duckdb

    registry = registry or complete_runs(root)
    con = duckdb.connect(":memory:")
    options = "union_by_name = true, filename = true"
    # ``run``: the run folder's path below the root (unique, and the same in every view)
    run = (f"regexp_replace(replace(filename, {_sql_text(str(registry.root) + '/')}, ''), "
           "'/[^/]+$', '')")
    allowed: list[str] = []
    for view, name in VIEW_FILES.items():
        paths = [str(folder / name) for folder in registry.runs]
        if not paths:
            con.execute(f"CREATE VIEW {view} AS SELECT NULL AS run WHERE false")
            continue
        allowed += paths
        source = f"read_parquet([{', '.join(map(_sql_text, paths))}], {options})"
        if view == "runs":
            select = (f"SELECT * EXCLUDE (filename) REPLACE ({run} AS run, "
                      f"COALESCE(point, {_from_path('point')}) AS point, "
                      f"COALESCE(replicate, {_from_path('replicate')}) AS replicate)")
        elif view == "ledger":
            select = (f"SELECT * EXCLUDE (filename) REPLACE ({run} AS run), "
                      f"{_from_path('point')} AS point, {_from_path('replicate')} AS replicate")
        else:
            select = (f"SELECT {run} AS run, {_from_path('point')} AS point, "
                      f"{_from_path('replicate')} AS replicate, * EXCLUDE (filename)")
        con.execute(f"CREATE VIEW {view} AS {select} FROM {source}")
    if registry.fits:  # (``fit``: the fit folder's path below the root, as ``run`` above)
        paths = [str(folder / "particles.parquet") for folder in registry.fits]
        allowed += paths
        con.execute(f"CREATE VIEW particles AS SELECT {run} AS fit, * EXCLUDE (filename) FROM "
                    f"read_parquet([{', '.join(map(_sql_text, paths))}], {options})")
    else:
        con.execute("CREATE VIEW particles AS SELECT NULL AS fit WHERE false")
    # From here on the connection reads the listed files and nothing else, writes nothing
    # (no COPY, ATTACH, EXPORT, extensions or spilling to disk), and cannot be reconfigured.
    con.execute(f"SET allowed_paths = [{', '.join(map(_sql_text, allowed))}]")
    con.execute("SET temp_directory = ''")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def read_only_statement(con, sql: str) -> str:
    """``sql`` if it is exactly one read-only statement; QueryError saying why not."""
    import duckdb

    if len(sql) > MAX_QUERY_CHARS:
        raise QueryError(f"the query has {len(sql):,} characters; at most {MAX_QUERY_CHARS:,}")
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {' '.join(str(exc).split())}") from None
    if len(statements) != 1:
        raise QueryError("give exactly one statement" if statements else "the query is empty")
    statement = statements[0]
    words = _LEADING_COMMENTS.sub("", statement.query).lower()
    if (statement.type != duckdb.StatementType.SELECT
            or not words.startswith(READ_ONLY_KEYWORDS)):
        first = words.split(maxsplit=1)[0].upper() if words.split() else "?"
        raise QueryError(f"only a read-only statement may run, not {first} (one of SELECT, "
                         "WITH, FROM, VALUES, DESCRIBE, SUMMARIZE, SHOW)")
    return sql


@dataclass
class QueryResult:
    """The rows of a query (a stream of record batches) and the folders left out."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    skipped: list[tuple[Path, str]]

    def table(self, max_rows: int = MAX_ROWS) -> pa.Table:
        """The whole result, at most ``max_rows`` rows (QueryError if there are more)."""
        kept, rows = [], 0
        for batch in self.batches:
            rows += batch.num_rows
            if rows > max_rows:
                raise QueryError(f"the result has more than {max_rows:,} rows; narrow it (WHERE, "
                                 "LIMIT, GROUP BY) or write it with --format csv or parquet "
                                 "and --out FILE")
            kept.append(batch)
        return pa.Table.from_batches(kept, schema=self.schema)


def open_query(sql: str, root: Path) -> tuple[QueryResult, object]:
    """Start ``sql`` over the views of ``root``: its result as a stream, and the connection
    (close it when the stream is read)."""
    import duckdb

    registry = complete_runs(root)
    con = connect(root, registry)
    try:
        read_only_statement(con, sql)
        reader = con.sql(sql).to_arrow_reader(8192)
    except QueryError:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise QueryError(f"query failed: {' '.join(str(exc).split())}") from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except duckdb.Error as exc:  # raised while reading (a file changed meanwhile)
            raise QueryError(f"query failed: {' '.join(str(exc).split())}") from None

    return QueryResult(reader.schema, batches(), registry.skipped), con


def run_query(sql: str, root: Path, max_rows: int = MAX_ROWS) -> pa.Table:
    """The result of ``sql`` over the views of ``root``, as an Arrow table."""
    result, con = open_query(sql, root)
    try:
        return result.table(max_rows)
    finally:
        con.close()
