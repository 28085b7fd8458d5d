"""Run folders are written whole or not at all.

Everything is written into a hidden temporary sibling folder, which is then
renamed into place: an interrupted or failed run leaves no partial result, and
an existing run is replaced only when asked (and only once the new one is
complete).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scsim.scenario.load import LoadedScenario
    from scsim.scenario.pairing import Counterfactual

RUNS = Path("runs")
SLUG_LENGTH = 40


class RunDirExists(Exception):
    """The output folder exists and overwriting was not asked for."""


def slug(name: str) -> str:
    """A safe folder name: lowercase letters, digits and single dashes, never empty or a path."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:SLUG_LENGTH].strip("-")
    return text or "scenario"


def default_run_folder(loaded: LoadedScenario, pairing: Counterfactual | None = None) -> Path:
    """``runs/SLUG-seedSEED-HASH``: HASH names the effective scenario (after --population,
    --days and --set) and its counterfactual, so different runs never share a folder."""
    s = loaded.scenario
    identity = loaded.sha256 + ("" if pairing is None else f"|{pairing.label}|{pairing.sha256}")
    short = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return RUNS / f"{slug(s.name)}-seed{s.run.seed}-{short}"


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
