"""What every command shares: the app, consoles, failing cleanly, loading inputs."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from scsim import __version__
from scsim.scenario.load import LoadedScenario, ScenarioError, load_scenario
from scsim.scenario.pairing import Counterfactual
from scsim.terminal import EscapingStream, SafeConsole


class _EscapingGroup(TyperGroup):
    """The app's command group: stderr escapes control characters while a command runs."""

    def main(self, *args, **kwargs):
        stderr = sys.stderr
        sys.stderr = EscapingStream(stderr)
        try:
            return super().main(*args, **kwargs)
        finally:
            sys.stderr = stderr


app = typer.Typer(
    name="scsim",
    cls=_EscapingGroup,
    help="Simulate a social-credit scoring system on a synthetic population.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags without a '<bool>' type, text as written
)
# No console interprets markup: scenario names, descriptions and file names are
# the user's text, and "[/x]" or "rates [per day]" must print as written; nor does
# any obey the control characters such text may hold (scsim.terminal).
console = SafeConsole(markup=False)
err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)
EXIT_BAD_INPUT = 2


def fail(lines: list[str] | str) -> typer.Exit:
    for line in [lines] if isinstance(lines, str) else lines:
        err_console.print(f"error: {line}", markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"scsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """Simulate a social-credit scoring system on a synthetic population."""


SeedOption = Annotated[int | None, typer.Option(help="Override run.seed.")]
ThreadsOption = Annotated[
    int | None, typer.Option(help="Worker threads (results do not depend on it).")
]


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override any field: dotted.path=VALUE, VALUE in TOML syntax "
        "(e.g. --set behaviours.jaywalk.daily_rate=0.001). Repeatable.",
    ),
]


AddOption = Annotated[
    list[str] | None,
    typer.Option(
        "--add",
        metavar="PATH=VALUE",
        help="Like --set, but may also add a new named entry (e.g. --add "
        "'behaviours.loitering={daily_rate=0.001}'); --set only changes what exists. "
        "Repeatable.",
    ),
]


def _parse_sets(assignments: list[str] | None, source: str, option: str = "--set") -> dict:
    from scsim.scenario.load import parse_toml

    overrides = {}
    for text in assignments or []:
        path, sep, value = text.partition("=")
        if not sep or not path.strip():
            raise fail(f"{source}: {option} {text!r}: expected dotted.path=VALUE")
        try:
            parsed = parse_toml(f"value = {value}", source, path.strip())
        except ScenarioError as exc:
            if "malformed TOML" not in exc.problems[0][1]:
                raise fail(exc.lines()) from None
            raise fail(f"{source}: {path.strip()}: {option} value {value!r} is not a TOML "
                       f"value (quote strings: {option} name='\"x\"')") from None
        if set(parsed) != {"value"}:
            raise fail(f"{source}: {path.strip()}: {option} value {value!r} is not one TOML "
                       "value")
        overrides[path.strip()] = parsed["value"]
    return overrides


def _world_overrides(seed: int | None, population: int | None, days: int | None) -> dict:
    overrides: dict = {}
    if seed is not None:
        overrides["run.seed"] = seed
    if population is not None:
        overrides["population.size"] = population
    if days is not None:
        overrides["run.days"] = days
        overrides["run.end"] = None  # --days replaces an end date (the run then ends earlier)
    return overrides


def _load(scenario: Path, seed: int | None, population: int | None, days: int | None,
          sets: list[str] | None = None, adds: list[str] | None = None) -> LoadedScenario:
    overrides = _parse_sets(sets, str(scenario)) | _world_overrides(seed, population, days)
    additions = _parse_sets(adds, str(scenario), "--add")
    try:
        return load_scenario(scenario, overrides, additions)
    except ScenarioError as exc:
        raise fail(exc.lines()) from None


def _load_counterfactual(text: str, loaded: LoadedScenario, seed: int | None,
                         population: int | None, days: int | None) -> Counterfactual:
    """'none' or a scenario file of the same world; --seed/--population/--days apply to both."""
    from scsim.scenario.load import scenario_sha256
    from scsim.scenario.pairing import no_system, world_differences

    if text.strip().lower() == "none":
        cf = no_system(loaded.scenario)
        return Counterfactual(cf, "none", scenario_sha256(cf))
    path = Path(text)
    try:
        other = load_scenario(path, _world_overrides(seed, population, days))
    except ScenarioError as exc:
        raise fail([f"--counterfactual: {line}" for line in exc.lines()]) from None
    problems = world_differences(loaded.scenario, other.scenario)
    if problems:
        raise fail([f"--counterfactual: {path}: {field}: {why} ({loaded.source}); --set "
                    "changes SCENARIO only" for field, why in problems])
    return Counterfactual(other.scenario, str(path), other.sha256)


def _set_threads(threads: int | None) -> None:
    import numba

    if threads is None:
        return
    if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
        raise fail(
            f"--threads: must be between 1 and {numba.config.NUMBA_NUM_THREADS} "
            f"(set NUMBA_NUM_THREADS to allow more), got {threads}"
        )
    numba.set_num_threads(threads)


def _check_memory(loaded: LoadedScenario, counterfactual: Counterfactual | None = None) -> None:
    import numba

    from scsim.engine.memory import memory_problem

    problem = memory_problem(loaded.scenario, numba.get_num_threads(),
                             counterfactual=counterfactual.scenario if counterfactual else None)
    if problem:
        raise fail(f"{loaded.source}: population.size: {problem}")


def _read_run(path: Path, required: tuple[str, ...] | None = None,
              optional: tuple[str, ...] | None = None):
    from scsim.io.stored_run import OPTIONAL_FILES, REQUIRED_FILES, RunFolderError, read_run

    try:
        return read_run(path, required or REQUIRED_FILES,
                        OPTIONAL_FILES if optional is None else optional)
    except RunFolderError as exc:
        raise fail(str(exc)) from None


def _write_text_atomically(target: Path, text: str, replace: bool = False) -> None:
    from scsim.io.run_dir import OutputError, write_text_atomically

    try:
        write_text_atomically(target, text, replace=replace)
    except OutputError as exc:
        raise fail(str(exc)) from None


@contextlib.contextmanager
def _output_place(target: Path, replace: bool = False) -> Iterator[Path]:
    """A temporary folder whose files land in ``target`` if all goes well; one line if not."""
    from scsim.io.run_dir import OutputError, files_into_folder

    try:
        with files_into_folder(target, replace) as tmp:
            yield tmp
    except OutputError as exc:
        raise fail(str(exc)) from None


def _check_output(target: Path | None, replace: bool) -> None:
    """Refuse an output file that cannot be written (see check_output_file) before any work."""
    from scsim.io.run_dir import OutputError, check_output_file

    if target is None:
        return
    try:
        check_output_file(target, replace)
    except OutputError as exc:
        raise fail(str(exc)) from None


def _write_report(run_folder: Path, out: Path | None, replace: bool = False) -> Path:
    from scsim.report import run_report

    target = out or run_folder / "report.html"
    _check_output(target, replace)  # before drawing the figures
    _write_text_atomically(target, run_report(_read_run(run_folder)), replace)
    return target


ForceFileOption = Annotated[bool, typer.Option("--force", help="Replace an existing output "
                                               "file.")]
