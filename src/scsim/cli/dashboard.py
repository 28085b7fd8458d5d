"""``scsim dashboard``: the registry in the browser (the optional Solara extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scsim.cli.common import app, console, fail


def _port_free(host: str, port: int) -> str | None:
    """Why ``port`` cannot be listened on at ``host`` (None if it can)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"--host: cannot resolve {host!r} ({exc.strerror or exc})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            return f"--port: {host}:{port} is not free ({exc.strerror or exc})"
    return None


@app.command()
def dashboard(
    root: Annotated[Path, typer.Option("--root", help="The registry it shows: every run, "
                                       "ensemble, sweep and fit below this folder.")
                    ] = Path("runs"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine "
                                      "only; anything else shares it with the network).")
                    ] = "127.0.0.1",
    read_only: Annotated[bool, typer.Option("--read-only", help="Show stored results only: "
                                            "no run can be launched.")] = False,
) -> None:
    """Explore, run and compare in the browser: runs, ensembles, sweeps and fits."""
    from scsim.dashboard import EXTRA_MISSING, have_solara

    if not have_solara():
        raise fail(EXTRA_MISSING)
    if not root.is_dir():
        raise fail(f"--root: {root}: no such folder (run something first, e.g. make demo)")
    problem = _port_free(host, port)
    if problem:
        raise fail(problem)
    from scsim.dashboard.server import serve

    def ready() -> None:
        console.print(f"scsim dashboard of {root} at http://{host}:{port}/"
                      + (" (read-only)" if read_only else "") + "; Ctrl-C stops it",
                      markup=False)
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print(f"note: listening on {host}: anyone who can reach it can read the "
                          "registry" + ("" if read_only else " and launch runs"), markup=False)

    serve(root, host, port, read_only, ready)
