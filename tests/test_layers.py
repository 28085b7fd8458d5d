"""The import layers stated in pyproject.toml hold, and an upward import breaks them.

lint-imports counts every import, those made inside functions too, so a lower layer that
reaches up (a mechanism importing the ledger) fails the contract wherever it does it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(source: Path, folder: Path) -> subprocess.CompletedProcess:
    """lint-imports on the package under ``source`` (first on the path), with the project's
    contract."""
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")], cwd=folder,
        env={**os.environ, "PYTHONPATH": str(source)}, capture_output=True, text=True,
        timeout=120, check=False)


def test_the_layers_hold(tmp_path):
    result = _lint(ROOT / "src", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_mechanism_that_imports_the_ledger_breaks_them(tmp_path):
    shutil.copytree(ROOT / "src" / "scsim", tmp_path / "src" / "scsim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    base = tmp_path / "src" / "scsim" / "mechanisms" / "base.py"
    base.write_text(base.read_text() + "\n\ndef _upward():\n"
                    "    from scsim.ledger import build_ledger  # noqa: F401\n")
    result = _lint(tmp_path / "src", tmp_path)
    assert result.returncode == 1, result.stdout
    assert "scsim.mechanisms is not allowed to import scsim.ledger" in result.stdout
    assert "scsim.mechanisms.base -> scsim.ledger" in result.stdout
