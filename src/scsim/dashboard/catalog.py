"""What lies under the dashboard's root: every run, ensemble, sweep, screening and fit.

Runs come from the registry (``scsim.query``: complete, checked run folders);
experiments from their manifests.  Only each run's identity is read from its
``run.parquet``, never a daily table, and kept while the file is unchanged, so
the list stays quick and small with thousands of runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

KINDS = ("run", "ensemble", "sweep", "screen", "fit")
MANIFESTS = {"ensemble.json": "ensemble", "sweep.json": "sweep", "fit.json": "fit"}


@dataclass(frozen=True)
class Entry:
    """One row of the dashboard's list."""

    kind: str
    path: str
    """The folder below the root (``run`` in the registry's views)."""
    scenario: str
    started: str
    """ISO time the run or experiment was written (a run's start; a folder's change)."""
    population: int | None
    paired: bool | None
    seed: int | None
    label: str
    """What else says what it is: the counterfactual, the replicates, the design."""

    @property
    def day(self) -> str:
        return self.started[:10]


IDENTITY = ["scenario", "started_at", "population", "counterfactual", "seed", "replicate",
            "point"]
_ROWS: dict[Path, tuple[tuple, tuple]] = {}
"""Each run folder's identity as read, with its run.parquet's signature: a list refreshed after
new runs reads only those (the server fills it before its first page)."""


def _identity(folder: Path) -> tuple:
    import pyarrow.parquet as pq

    from scsim.query import _signature

    path = folder / "run.parquet"
    signature = _signature([path])
    known = _ROWS.get(folder)
    if known is not None and known[0] == signature:
        return known[1]
    table = pq.read_table(path)
    row = table.slice(0, 1).to_pylist()[0]
    identity = tuple(row.get(name) for name in IDENTITY)
    if signature is not None:
        _ROWS[folder] = (signature, identity)
    return identity


def _hive(relative: str, key: str) -> int | None:
    """``point=3`` in a run's folder path, as 3."""
    for part in relative.split("/"):
        if part.startswith(f"{key}=") and part[len(key) + 1:].isdigit():
            return int(part[len(key) + 1:])
    return None


def _runs(root: Path) -> list[Entry]:
    """Every complete, checked run of the registry (``scsim.query.complete_runs``, which
    checks a folder once while its files are unchanged)."""
    from scsim.query import complete_runs

    registry = complete_runs(root)
    entries = []
    for folder in registry.runs:
        relative = str(folder.relative_to(registry.root))
        scenario, started, population, counterfactual, seed, replicate, point = \
            _identity(folder)
        point = point if point is not None else _hive(relative, "point")
        replicate = replicate if replicate is not None else _hive(relative, "replicate")
        where = ", ".join(x for x in (point is not None and f"point {point}",
                                      replicate is not None and f"replicate {replicate}") if x)
        label = (f"paired with {counterfactual}" if counterfactual else "unpaired") + (
            f"; {where}" if where else "")
        entries.append(Entry("run", relative, scenario, str(started), int(population),
                             counterfactual is not None, int(seed), label))
    return entries


def _experiments(root: Path) -> list[Entry]:
    """Ensembles, sweeps, screenings and fits below the root, from their manifests (one that
    cannot be read is left out: the registry's runs inside it are still listed)."""
    found = []
    resolved = root.resolve()
    for folder, subfolders, files in os.walk(resolved, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")
                               and not d.startswith(("point=", "replicate=")))
        for name, kind in MANIFESTS.items():
            if name not in files:
                continue
            path = Path(folder)
            try:
                manifest = json.loads((path / name).read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(manifest, dict):
                continue
            kind = manifest.get("kind", kind) if kind == "sweep" else kind
            started = dt.datetime.fromtimestamp((path / name).stat().st_mtime, dt.UTC)
            scenario = str(manifest.get("scenario") or Path(str(
                manifest.get("scenario_file", "?"))).stem)
            if kind == "ensemble":
                label = f"{len(manifest.get('replicates_done') or [])} replicates" + (
                    "; posterior draws" if manifest.get("posterior") else "")
            elif kind == "fit":
                label = f"{manifest.get('particles')} particles, ABC-SMC"
            else:
                label = f"{manifest.get('design')} design, {manifest.get('points')} points"
            found.append(Entry(kind, str(path.relative_to(resolved)), scenario,
                               started.isoformat(), manifest.get("population"),
                               None if kind in ("fit", "sweep", "screen")
                               else manifest.get("counterfactual") is not None,
                               manifest.get("root_seed", manifest.get("seed")), label))
    return found


def catalog(root: Path) -> list[Entry]:
    """Every run and experiment under ``root``, newest first."""
    entries = _runs(root) + _experiments(root)
    return sorted(entries, key=lambda e: (e.started, e.path), reverse=True)


@dataclass(frozen=True)
class Filters:
    """The list's filters (None or empty: any)."""

    scenario: str | None = None
    kind: str | None = None
    since: str | None = None
    """First day (YYYY-MM-DD) included."""
    until: str | None = None
    min_population: int | None = None
    max_population: int | None = None
    paired: bool | None = None


def matches(entry: Entry, f: Filters) -> bool:
    if f.scenario and entry.scenario != f.scenario:
        return False
    if f.kind and entry.kind != f.kind:
        return False
    if f.since and entry.day < f.since:
        return False
    if f.until and entry.day > f.until:
        return False
    if f.min_population is not None and (entry.population or 0) < f.min_population:
        return False
    if f.max_population is not None and (entry.population or 0) > f.max_population:
        return False
    return f.paired is None or entry.paired == f.paired


def filtered(entries: list[Entry], f: Filters) -> list[Entry]:
    return [e for e in entries if matches(e, f)]
