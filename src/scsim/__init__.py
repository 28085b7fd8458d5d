"""scsim: simulate social-credit scoring systems on synthetic populations.

The small API for notebooks (see ``scsim.api``)::

    import scsim
    run = scsim.run(scsim.load("scenarios/r0.toml"), "runs/r0", counterfactual="none")
    run.table("daily"), run.ledger["totals"]
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scsim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"


def __getattr__(name: str):
    """The API is imported on first use, so ``import scsim`` (and the CLI) stay light."""
    api = {"load", "run", "read", "Run", "ScenarioError", "RunFolderError", "TABLES"}
    if name in api:
        from scsim import api as module

        return getattr(module, name)
    raise AttributeError(f"module 'scsim' has no attribute {name!r}")


__all__ = [
    "TABLES",
    "Run",
    "RunFolderError",
    "ScenarioError",
    "__version__",
    "load",
    "read",
    "run",
]
