"""scsim: simulate social-credit scoring systems on synthetic populations.

The small API for notebooks (see ``scsim.api``)::

    import scsim
    run = scsim.run(scsim.load("scenarios/r0.toml"), "runs/r0", counterfactual="none")
    run.table("daily"), run.ledger["totals"]
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("scsim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"
del PackageNotFoundError


_API = {"load": "scsim.api", "run": "scsim.api", "read": "scsim.api", "Run": "scsim.api",
        "TABLES": "scsim.api", "read_fit": "scsim.api", "Fit": "scsim.api",
        "ScsimError": "scsim.errors",
        "InvalidArgument": "scsim.errors", "ScenarioError": "scsim.scenario.load",
        "RunFolderError": "scsim.io.stored_run", "OutputError": "scsim.io.run_dir",
        "RunDirExists": "scsim.io.run_dir"}
"""The API's names and where each lives: imported on first use, so ``import scsim`` (and
the CLI) stay light."""


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'scsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = sorted([*_API, "__version__"])
