"""Serving the dashboard: Solara's Starlette app under uvicorn, on one host and port.

The app reads its settings from the environment, which is set here before
Solara is imported: the root it shows, whether it may launch runs, and
Solara's own settings (production mode; no telemetry, so that the dashboard
never calls out; its JavaScript from the bundled assets, so that it works
offline).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_VARIABLE = "SCSIM_DASHBOARD_ROOT"
READ_ONLY_VARIABLE = "SCSIM_DASHBOARD_READ_ONLY"
APP = "scsim.dashboard.app"


def configure(root: Path, read_only: bool) -> None:
    """The environment the app (and Solara) read when imported."""
    os.environ[ROOT_VARIABLE] = str(root.resolve())
    os.environ[READ_ONLY_VARIABLE] = "1" if read_only else "0"
    os.environ["SOLARA_APP"] = APP
    os.environ["SOLARA_MODE"] = "production"
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_ASSETS_PROXY", "True")


def warm() -> None:
    """Import what the pages draw with (the report's HTML, matplotlib, DuckDB), so that the
    first visit to a run does not wait for it; none of it needs numba."""
    import importlib
    import warnings

    for module in ("scsim.compare", "scsim.experiments.report", "scsim.plots", "scsim.report"):
        importlib.import_module(module)

    # Solara warns that its session cookie falls back to SameSite=Lax over plain http, on
    # every page: true, and expected on 127.0.0.1.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")


def serve(root: Path, host: str = "127.0.0.1", port: int = 8765, read_only: bool = False,
          ready=None) -> None:
    """Serve the dashboard until interrupted (``ready``: called once it listens)."""
    configure(root, read_only)
    from scsim.dashboard.catalog import catalog

    catalog(root)  # every run checked and its identity read once, before the first page
    warm()
    import uvicorn

    config = uvicorn.Config("solara.server.starlette:app", host=host, port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if ready is not None:
        original = server.startup

        async def startup(*args, **kwargs):
            await original(*args, **kwargs)
            ready()

        server.startup = startup
    server.run()
