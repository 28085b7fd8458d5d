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


def test_every_failure_a_caller_can_cause_is_scsims_own(tmp_path):
    """Each raises a documented subclass of scsim.ScsimError, never AttributeError, numba's
    ValueError or an exception scsim does not export."""
    import numpy as np

    small = {"population.size": 100, "run.days": 5}
    r0 = SCENARIOS / "r0.toml"
    cases = [
        (lambda: scsim.load(r0, set="population.size=5"), scsim.InvalidArgument, "set:"),
        (lambda: scsim.load(r0, add=[("a", 1)]), scsim.InvalidArgument, "add:"),
        (lambda: scsim.load(r0, set={1: 2}), scsim.InvalidArgument, "set:"),
        (lambda: scsim.load(42), scsim.InvalidArgument, "path:"),
        (lambda: scsim.load(r0, set={"population.size": True}), scsim.ScenarioError,
         "valid integer"),
        (lambda: scsim.run(r0, tmp_path / "t0", threads=0), scsim.InvalidArgument,
         "threads:"),
        (lambda: scsim.run(r0, tmp_path / "t1", threads=10**6), scsim.InvalidArgument,
         "threads:"),
        (lambda: scsim.run(r0, tmp_path / "t2", threads=1.5), scsim.InvalidArgument,
         "threads:"),
        (lambda: scsim.run(r0, tmp_path / "t3", counterfactual=3), scsim.InvalidArgument,
         "counterfactual:"),
        (lambda: scsim.run(r0, 7), scsim.InvalidArgument, "out:"),
        (lambda: scsim.read(5), scsim.InvalidArgument, "path:"),
        (lambda: scsim.load(r0, set={"population.size": (x for x in [1])}),
         scsim.InvalidArgument, "expected a value a scenario file could hold"),
        (lambda: scsim.load(r0, set={"name": object()}), scsim.InvalidArgument,
         "got object"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match=message):
            call()
    assert issubclass(scsim.InvalidArgument, scsim.ScsimError)
    loaded = scsim.load(r0, set=small | {"run.seed": np.int64(3)})  # numpy numbers are numbers
    assert loaded.scenario.run.seed == 3
    scsim.run(loaded, tmp_path / "run")
    with pytest.raises(scsim.RunDirExists, match="already exists") as exists:
        scsim.run(loaded, tmp_path / "run")
    assert isinstance(exists.value, scsim.OutputError) and isinstance(exists.value,
                                                                     scsim.ScsimError)
    (tmp_path / "a_file").write_text("mine")
    with pytest.raises(scsim.OutputError, match="a_file is a file"):
        scsim.run(loaded, tmp_path / "a_file" / "run")
    with pytest.raises(scsim.RunFolderError):
        (tmp_path / "run" / "daily.parquet").write_bytes(b"damaged")
        scsim.read(tmp_path / "run").table("daily")
    for error in ("ScenarioError", "RunFolderError", "OutputError", "RunDirExists",
                  "InvalidArgument", "ScsimError"):
        assert error in dir(scsim) and issubclass(getattr(scsim, error), scsim.ScsimError)


def test_threads_apply_to_one_run_only(tmp_path):
    import numba

    before = numba.get_num_threads()
    scsim.run(scsim.load(SCENARIOS / "r0.toml", set={"population.size": 100, "run.days": 5}),
              tmp_path / "one", threads=1)
    assert numba.get_num_threads() == before


def test_dir_lists_the_api():
    assert dir(scsim) == sorted(["ScsimError", "InvalidArgument", "ScenarioError",
                                 "RunFolderError", "OutputError", "RunDirExists", "Run",
                                 "TABLES", "load", "read", "run", "__version__", "Fit",
                                 "read_fit"])


def test_a_fit_is_read_and_a_run_draws_from_it(tmp_path):
    """A hand-written fit of two particles, one of weight 0 (never drawn): the posterior's
    interval is that one particle's value, and a run drawing from it runs that value."""
    from test_posterior import RATE, scenario, write_fit  # noqa: F401

    fit = write_fit(tmp_path / "fit", [(0.0, 0.002, 0.02), (1.0, 0.0003, 0.01)])
    (fit / "generations.parquet").write_bytes((fit / "particles.parquet").read_bytes())
    read = scsim.read_fit(fit)
    assert read.posterior()[RATE] == {"q05": 0.0003, "median": 0.0003, "q95": 0.0003}
    assert read.prediction is None
    path = tmp_path / "truth.toml"
    from test_fit import truth_scenario

    path.write_text(truth_scenario([1.0] * 4))
    run = scsim.run(path, tmp_path / "drawn", posterior=fit)
    assert run.summary["posterior"]["values"][RATE] == 0.0003
    assert run.scenario.behaviours["debt"].daily_rate == 0.0003
    with pytest.raises(scsim.InvalidArgument, match="not a scsim fit"):
        scsim.read_fit(tmp_path)
