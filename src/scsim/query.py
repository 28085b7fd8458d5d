"""SQL over many run folders: DuckDB views of every run below a root.

Views (built from the files, no database file):

* ``runs``: every ``run.parquet``, one row per run (identity, varied
  parameters, ledger totals, timings);
* ``ledger``: every ``ledger.parquet``, one row per run, quantity and group;
* ``daily``: every ``daily.parquet``.

In every view ``run`` is the run folder's path below the root, e.g.
``r0-seed1-1a2b3c4d`` or ``my-sweep/point=3/replicate=1``.

Files are combined by column name, so runs of different scenarios (other
behaviours, other varied parameters) sit in one view with nulls where a
column does not apply; hive-style folder names (``point=3/replicate=1``)
give the ``point`` and ``replicate`` columns.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

FORMATS = ("table", "csv", "json", "parquet")


class QueryError(Exception):
    """A query that cannot run; the message says why in one line."""


def _glob(root: Path, name: str) -> str:
    return str(root / "**" / name).replace("'", "''")


def _from_path(key: str) -> str:
    """A hive-style ``key=N`` folder name on the file's path, as a number (null if absent)."""
    return f"TRY_CAST(NULLIF(regexp_extract(filename, '/{key}=([0-9]+)/', 1), '') AS BIGINT)"


def connect(root: Path):
    """A DuckDB connection with the views over the run folders below ``root``."""
    import duckdb

    if not root.is_dir():
        raise QueryError(f"{root}: no such folder")
    con = duckdb.connect(":memory:")
    # Files are combined by column name.  Folders named point=K / replicate=R give those
    # columns (read from the path here: DuckDB's hive partitioning refuses a mix of
    # partitioned and plain folders, which a runs folder usually is).
    options = "union_by_name = true, filename = true"
    prefix = str(root.resolve()).replace("'", "''") + "/"
    # ``run``: the run folder's path below the root (unique, and the same in every view)
    run = f"regexp_replace(replace(filename, '{prefix}', ''), '/[^/]+$', '')"
    for view, name in (("runs", "run.parquet"), ("ledger", "ledger.parquet"),
                       ("daily", "daily.parquet")):
        if not any(root.glob(f"**/{name}")):
            con.execute(f"CREATE VIEW {view} AS SELECT NULL AS run WHERE false")
            continue
        source = f"read_parquet('{_glob(root.resolve(), name)}', {options})"
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
    return con


def run_query(sql: str, root: Path) -> pa.Table:
    """The result of ``sql`` over the views of ``root``, as an Arrow table."""
    import duckdb

    con = connect(root)
    try:
        relation = con.sql(sql)
        if relation is None:
            raise QueryError("the statement returned no rows (use SELECT)")
        return relation.to_arrow_table()
    except duckdb.Error as exc:
        message = " ".join(str(exc).split())
        raise QueryError(f"query failed: {message}") from None
    finally:
        con.close()
