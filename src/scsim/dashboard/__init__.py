"""The dashboard (``scsim dashboard``): explore, run and compare in the browser.

A Solara app, an optional extra (``pip install 'scsim[dashboard]'``), and a
thin layer over what the command line reads and writes: the registry of run
folders, the ledgers, the experiments and the fits.  ``catalog`` and
``views`` are plain Python (tested without a browser); ``app`` is the Solara
page; ``server`` serves it on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

EXTRA_MISSING = ("the dashboard needs its optional extra: pip install 'scsim[dashboard]' "
                 "(make demo and make test install it)")


def have_solara() -> bool:
    """Whether the optional extra is installed."""
    import importlib.util

    return importlib.util.find_spec("solara") is not None
