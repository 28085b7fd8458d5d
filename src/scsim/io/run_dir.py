"""Run folders are written whole or not at all.

Everything is written into a hidden temporary sibling folder, which is then
renamed into place: an interrupted or failed run leaves no partial result, and
an existing run is replaced only when asked (and only once the new one is
complete).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


class RunDirExists(Exception):
    """The output folder exists and overwriting was not asked for."""


def check_target(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise RunDirExists(f"{out}: already exists; use --force to replace it, or choose --out")


@contextlib.contextmanager
def atomic_run_dir(out: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes ``out``."""
    check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if out.exists():
            check_target(out, force)
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
