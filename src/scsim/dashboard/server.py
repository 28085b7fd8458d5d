"""Serving the dashboard: Solara's Starlette app under uvicorn, on one host and port.

The app reads its settings from the environment, which is set here before
Solara is imported: the root it shows, whether it may launch runs, and
Solara's own settings (production mode; no telemetry, so that the dashboard
never calls out; its JavaScript from the bundled assets, so that it works
offline).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT_VARIABLE = "SCSIM_DASHBOARD_ROOT"
READ_ONLY_VARIABLE = "SCSIM_DASHBOARD_READ_ONLY"
APP = "scsim.dashboard.app"
PAGE_KEPT = "2m"
"""How long the server keeps a page's state after its connection ends, in case it comes
back (a network blip); then it is freed.  A closed tab's goodbye does not reliably reach the
server, and Solara's default is a day, so each page ever opened would hold a megabyte or two
for a day (docs/performance.md)."""


def configure(root: Path, read_only: bool) -> None:
    """The environment the app (and Solara) read when imported."""
    os.environ[ROOT_VARIABLE] = str(root.resolve())
    os.environ[READ_ONLY_VARIABLE] = "1" if read_only else "0"
    os.environ["SOLARA_APP"] = APP
    os.environ["SOLARA_MODE"] = "production"
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_ASSETS_PROXY", "True")
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", PAGE_KEPT)


def warm() -> None:
    """Ready the process to serve: import what the pages draw with (the report's HTML,
    matplotlib), so that the first visit to a run does not wait for it (none of it needs
    numba); quiet a warning that says nothing new; and put Arrow on the system allocator."""
    import importlib
    import warnings

    for module in ("scsim.compare", "scsim.experiments.report", "scsim.plots", "scsim.report"):
        importlib.import_module(module)

    # Solara warns that its session cookie falls back to SameSite=Lax over plain http, on
    # every page: true, and expected on 127.0.0.1.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    # Arrow's own allocator keeps what it has freed; the system's gives it back.
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


RELEASE_SECONDS = 30.0


def _release_memory_every(seconds: float) -> None:
    """Give freed memory back to the system now and then: the pages that Solara lets go (after
    PAGE_KEPT) are cycles of objects, which Python collects late, and glibc keeps what they
    freed; both would keep the process at its peak size."""
    import contextlib
    import ctypes
    import gc
    import threading

    def loop() -> None:
        while True:
            time.sleep(seconds)
            gc.collect()
            with contextlib.suppress(OSError, AttributeError):  # (no glibc: nothing to do)
                ctypes.CDLL("libc.so.6").malloc_trim(0)

    threading.Thread(target=loop, daemon=True, name="release-freed-memory").start()


def serve(root: Path, host: str = "127.0.0.1", port: int = 8765, read_only: bool = False,
          ready=None) -> None:
    """Serve the dashboard until interrupted (``ready``: called once it listens)."""
    configure(root, read_only)
    from scsim.dashboard.catalog import catalog

    catalog(root)  # every run checked and its identity read once, before the first page
    warm()
    _release_memory_every(RELEASE_SECONDS)
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
