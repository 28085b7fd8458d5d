"""numba's on-disk cache, keyed on the kernels' sources so that a stale kernel cannot load.

numba invalidates a cached function when its own file changes, but not when
a module it uses does (constants and helpers are frozen into the compiled
code). So the cache lives in a folder named after a hash of the source files
every kernel depends on (the template, the generator, the random numbers, the
tables): change any of them and the kernels compile afresh into a new folder;
the old one is never read again.  A mechanism module is in only the kernels
that hold it: the generator writes the hash of those modules into each
kernel's text (``scsim.kernels.generate``), whose file is named after a hash
of that text, so an edit to one mechanism recompiles only the kernels that
contain it.  Import this module before any ``@njit(cache=True)`` function is
defined.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numba

PACKAGE = Path(__file__).resolve().parents[1]
KERNEL_SOURCES = (
    "kernels/cache.py",
    "kernels/generate.py",
    "kernels/layout.py",
    "kernels/neighbourhood.py",
    "rng/counter.py",
    "engine/tables.py",
    "mechanisms/__init__.py",
    "mechanisms/base.py",
)
"""Every file whose code or constants are compiled into every kernel, relative to the package
(a pattern stands for its files, in order); a mechanism's own module counts only for the
kernels that hold it."""
PREFIX = "scsim-kernels-"


def sources_digest(paths: list[Path]) -> str:
    """A short hash of the files' contents (and of the list, so a new dependency counts)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def kernel_sources() -> list[Path]:
    return [path for name in KERNEL_SOURCES for path in sorted(PACKAGE.glob(name))]


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def cache_dir() -> Path:
    """The cache folder of the current sources (created if needed)."""
    digest = sources_digest(kernel_sources())
    given = os.environ.get("NUMBA_CACHE_DIR", "")
    if given and Path(given).name.startswith(PREFIX):
        base = Path(given).parent  # set by a parent process (e.g. a Dask worker's coordinator)
    elif given:
        base = Path(given)
    else:
        base = PACKAGE / "kernels" / "__pycache__"
        if not _writable(base):
            base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scsim"
    return base / f"{PREFIX}{digest}"


STALE_AFTER_S = 14 * 24 * 3600
"""A cache folder of other sources untouched this long is removed (it is never read again
unless those very sources come back, and then it is rebuilt)."""


def prune_stale(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the cache folders of other kernel sources beside ``folder`` that nothing has
    written to for ``STALE_AFTER_S`` (each source change leaves one behind); returns them."""
    now = time.time() if now is None else now
    removed = []
    try:
        siblings = [p for p in folder.parent.iterdir()
                    if p.name.startswith(PREFIX) and p.name != folder.name and p.is_dir()]
    except OSError:
        return removed
    for old in siblings:
        try:
            newest = max([old.stat().st_mtime, *(f.stat().st_mtime for f in old.rglob("*"))])
        except OSError:
            continue
        if now - newest > STALE_AFTER_S:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


def configure() -> Path:
    """Point numba (and child processes) at the cache folder of the current sources."""
    folder = cache_dir()
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    numba.config.CACHE_DIR = str(folder)
    if not folder.exists():  # new sources: the time the others may have gone stale
        prune_stale(folder)
    return folder


CACHE_DIR = configure()
