"""The Python API for notebooks: load a scenario, run it, read a stored run.

The command line is a thin layer over the same functions::

    import scsim

    scenario = scsim.load("scenarios/r0.toml", set={"population.size": 100_000})
    run = scsim.run(scenario, "runs/r0-notebook", counterfactual="none", force=True)
    daily = run.table("daily")              # pyarrow.Table
    frame = run.frame("ledger")             # pandas.DataFrame (needs pandas)
    run.ledger["totals"]["sanctioned"]

    fit = scsim.read_fit("runs/history-fit")          # a fit folder (scsim fit)
    fit.posterior()                         # each fitted value's median and 90% interval
    drawn = scsim.run(scenario, "runs/r0-draw", posterior=fit.path)  # one posterior draw

Every failure a caller can cause raises a subclass of ``scsim.ScsimError``:
``scsim.ScenarioError`` (a scenario that cannot run, with one line per
problem in ``.lines()``), ``scsim.RunFolderError`` (a run folder that cannot
be read), ``scsim.OutputError`` (an output that cannot be written;
``scsim.RunDirExists`` when the folder exists and ``force`` is not given) or
``scsim.InvalidArgument`` (an argument of the wrong kind or out of range).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scsim.errors import InvalidArgument
from scsim.io.stored_run import StoredRun, read_run
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

        if name not in TABLES:
            raise InvalidArgument(f"unknown table {name!r} (known: {', '.join(TABLES)})")
        from scsim.io.stored_run import read_parquet

        return read_parquet(self.path / TABLES[name])

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
    return load_scenario(_path(path, "path"), _changes(set, "set"), _changes(add, "add"))


def _path(value: Any, name: str) -> Path:
    if not isinstance(value, str | Path):
        raise InvalidArgument(f"{name}: expected a file name (str or Path), got "
                              f"{type(value).__name__}")
    return Path(value)


def _changes(value: Any, name: str) -> dict[str, Any] | None:
    """``set=``/``add=``: a dict of dotted paths to values (numpy scalars as Python's)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidArgument(f"{name}: expected a dict of dotted paths to values, e.g. "
                              f"{{'population.size': 50_000}}, got {type(value).__name__}")
    changes = {k: v.item() if hasattr(v, "item") and hasattr(v, "dtype") else v
               for k, v in value.items()}
    for path, v in changes.items():
        if not _toml_like(v):
            raise InvalidArgument(f"{name}: {path}: expected a value a scenario file could "
                                  f"hold (a number, text, date, list or table), got "
                                  f"{type(v).__name__}")
    return changes


def _toml_like(value: Any, depth: int = 0) -> bool:
    import datetime

    if depth > 32:
        return False
    if isinstance(value, bool | int | float | str | datetime.date):
        return True
    if isinstance(value, list | tuple):
        return all(_toml_like(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _toml_like(v, depth + 1) for k, v in value.items())
    return False


def _counterfactual(value: str | Path | LoadedScenario | None,
                    scenario: LoadedScenario) -> Counterfactual | None:
    from scsim.scenario.load import scenario_sha256
    from scsim.scenario.pairing import no_system, world_differences

    if value is None:
        return None
    if not isinstance(value, str | Path | LoadedScenario):
        raise InvalidArgument(f"counterfactual: expected 'none', a scenario file or a loaded "
                              f"scenario, got {type(value).__name__}")
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
        threads: int | None = None, kernel: str = "auto",
        posterior: str | Path | None = None) -> Run:
    """Simulate a scenario (a loaded one, or a file) into a run folder and read it back.

    ``counterfactual``: 'none' (the same world without the system), another
    scenario file of the same world, or None for an unpaired run. ``out``
    defaults to runs/NAME-seedSEED-HASH, as for ``scsim run``.  ``kernel``: 'auto',
    'universal' or 'specialised', as ``scsim run --kernel`` (results do not depend on it).
    ``posterior``: a fit folder, whose posterior gives the fitted values one draw (chosen by
    the scenario's seed), as ``scsim run --posterior``.
    """
    from scsim.engine import KERNEL_CHOICES

    if kernel not in KERNEL_CHOICES:
        raise InvalidArgument(f"kernel: expected one of {', '.join(KERNEL_CHOICES)}, got "
                              f"{kernel!r}")
    import numba

    from scsim.engine.memory import memory_problem
    from scsim.io.run_dir import default_run_folder
    from scsim.runner import run_to_folder

    loaded = scenario if isinstance(scenario, LoadedScenario) else load(scenario)
    pairing = _counterfactual(counterfactual, loaded)
    drawn = None
    if posterior is not None:
        from scsim.experiments.posterior import check_applies, read_posterior, single_run_draw

        fitted = read_posterior(_path(posterior, "posterior"))
        check_applies(fitted, loaded.scenario, loaded.source)
        loaded, pairing, drawn = single_run_draw(fitted, loaded, pairing)
    most = numba.config.NUMBA_NUM_THREADS
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or not 1 <= threads <= most):
        raise InvalidArgument(f"threads: expected a whole number from 1 to {most} (set "
                              f"NUMBA_NUM_THREADS to allow more), got {threads!r}")
    folder = _path(out, "out") if out is not None else default_run_folder(loaded, pairing)
    previous = numba.get_num_threads()
    try:  # the thread count is this run's only, not the rest of the process's
        if threads is not None:
            numba.set_num_threads(threads)
        problem = memory_problem(loaded.scenario, numba.get_num_threads(),
                                 counterfactual=pairing.scenario if pairing else None)
        if problem:
            raise ScenarioError(loaded.source, [("population.size", problem)])
        run_to_folder(loaded, folder, force=bool(force), counterfactual=pairing,
                      kernel=kernel, posterior=drawn)
    finally:
        numba.set_num_threads(previous)
    return read(folder)


def read(path: str | Path) -> Run:
    """A run folder written by ``scsim run`` (or ``run``), checked as it is read."""
    stored = read_run(_path(path, "path"))
    return Run(**{name: getattr(stored, name) for name in stored.__dataclass_fields__})


class Fit:
    """A fit folder (``scsim fit``): its manifest, particles, generations and, after
    ``scsim predict``, its posterior predictive."""

    def __init__(self, path: Path):
        import json

        from scsim.experiments.fit import FIT_FILE, GENERATIONS, PARTICLES, PREDICTION
        from scsim.io.stored_run import read_parquet

        self.path = path
        try:
            self.manifest: dict[str, Any] = json.loads((path / FIT_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise InvalidArgument(f"{path}: not a scsim fit ({exc})") from None
        self.particles = read_parquet(path / PARTICLES)
        self.generations = read_parquet(path / GENERATIONS)
        self.prediction = (read_parquet(path / PREDICTION) if (path / PREDICTION).is_file()
                           else None)

    def posterior(self) -> dict[str, dict[str, float]]:
        """Each fitted value's weighted median and 90% interval in the last generation."""
        from scsim.experiments.fit import weighted_quantiles
        from scsim.experiments.posterior import read_posterior

        last = read_posterior(self.path)
        return {path: dict(zip(("q05", "median", "q95"), weighted_quantiles(
            last.values[:, k], last.weights, (0.05, 0.5, 0.95)), strict=True))
            for k, path in enumerate(last.paths)}


def read_fit(path: str | Path) -> Fit:
    """A fit folder written by ``scsim fit``, read and checked."""
    return Fit(_path(path, "path"))
