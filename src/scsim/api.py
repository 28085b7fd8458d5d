"""The Python API for notebooks: load a scenario, run it, read a stored run.

The command line is a thin layer over the same functions::

    import scsim

    scenario = scsim.load("scenarios/r0.toml", set={"population.size": 100_000})
    run = scsim.run(scenario, "runs/r0-notebook", counterfactual="none", force=True)
    daily = run.table("daily")              # pyarrow.Table
    frame = run.frame("ledger")             # pandas.DataFrame (needs pandas)
    run.ledger["totals"]["sanctioned"]

Every function raises ``scsim.ScenarioError`` (a scenario that cannot run,
with one line per problem in ``.lines()``) or ``scsim.RunFolderError`` (a
run folder that cannot be read) rather than failing later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scsim.io.stored_run import RunFolderError, StoredRun, read_run
from scsim.scenario.load import LoadedScenario, ScenarioError, load_scenario
from scsim.scenario.pairing import Counterfactual

TABLES = {
    "daily": "daily.parquet",
    "histogram": "score_histogram.parquet",
    "transitions": "grade_transitions.parquet",
    "ledger": "ledger.parquet",
    "run": "run.parquet",
}
"""Names of a run folder's tables for ``Run.table``."""


class Run(StoredRun):
    """A stored run, checked when read, with its tables as pyarrow and pandas."""

    def table(self, name: str):
        """One of the run's tables (see TABLES) as a ``pyarrow.Table``."""
        import pyarrow.parquet as pq

        if name not in TABLES:
            raise ValueError(f"unknown table {name!r} (known: {', '.join(TABLES)})")
        path = self.path / TABLES[name]
        if not path.is_file():
            raise RunFolderError(f"{path}: missing")
        return pq.read_table(path)

    def frame(self, name: str):
        """One of the run's tables as a ``pandas.DataFrame`` (pandas must be installed)."""
        try:
            import pandas  # noqa: F401
        except ImportError:
            raise ImportError("Run.frame needs pandas: pip install pandas, or use "
                              "Run.table for a pyarrow table") from None
        return self.table(name).to_pandas()


def load(path: str | Path, set: dict[str, Any] | None = None,
         add: dict[str, Any] | None = None) -> LoadedScenario:
    """Load and validate a scenario file; ``set`` changes fields by dotted path (only what
    exists, like --set), ``add`` may also add named entries (like --add)."""
    return load_scenario(path, set, add)


def _counterfactual(value: str | Path | LoadedScenario | None,
                    scenario: LoadedScenario) -> Counterfactual | None:
    from scsim.scenario.load import scenario_sha256
    from scsim.scenario.pairing import no_system, world_differences

    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "none":
        cf = no_system(scenario.scenario)
        return Counterfactual(cf, "none", scenario_sha256(cf))
    other = value if isinstance(value, LoadedScenario) else load_scenario(value, {
        "run.seed": scenario.scenario.run.seed,
        "population.size": scenario.scenario.population.size,
        "run.days": scenario.scenario.run.days, "run.end": None})
    problems = world_differences(scenario.scenario, other.scenario)
    if problems:
        raise ScenarioError(other.source, problems)
    return Counterfactual(other.scenario, other.source, other.sha256)


def run(scenario: LoadedScenario | str | Path, out: str | Path | None = None, *,
        counterfactual: str | Path | LoadedScenario | None = None, force: bool = False,
        threads: int | None = None) -> Run:
    """Simulate a scenario (a loaded one, or a file) into a run folder and read it back.

    ``counterfactual``: 'none' (the same world without the system), another
    scenario file of the same world, or None for an unpaired run. ``out``
    defaults to runs/NAME-seedSEED-HASH, as for ``scsim run``.
    """
    import numba

    from scsim.engine.memory import memory_problem
    from scsim.io.run_dir import default_run_folder
    from scsim.runner import run_to_folder

    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    pairing = _counterfactual(counterfactual, loaded)
    if threads is not None:
        numba.set_num_threads(threads)
    problem = memory_problem(loaded.scenario, numba.get_num_threads(),
                             counterfactual=pairing.scenario if pairing else None)
    if problem:
        raise ScenarioError(loaded.source, [("population.size", problem)])
    folder = Path(out) if out is not None else default_run_folder(loaded, pairing)
    run_to_folder(loaded, folder, force=force, counterfactual=pairing)
    return read(folder)


def read(path: str | Path) -> Run:
    """A run folder written by ``scsim run`` (or ``run``), checked as it is read."""
    stored = read_run(Path(path))
    return Run(**{name: getattr(stored, name) for name in stored.__dataclass_fields__})
