"""Stale kernels cannot load: numba's cache folder is named after the kernels' sources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numba

from scsim.kernels import cache

SRC = Path(cache.__file__).resolve().parents[2]
PRINT_DIR = "import scsim.kernels.neighbourhood, numba, os; print(numba.config.CACHE_DIR)"


def test_this_process_uses_the_folder_of_its_sources():
    assert numba.config.CACHE_DIR == str(cache.CACHE_DIR) == os.environ["NUMBA_CACHE_DIR"]
    digest = cache.sources_digest(cache.kernel_sources())
    assert cache.CACHE_DIR.name == f"{cache.PREFIX}{digest}"


def _cache_dir(tree: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(tree / "src")
    proc = subprocess.run([sys.executable, "-c", PRINT_DIR], capture_output=True, text=True,
                          env=env, check=True)
    return proc.stdout.strip()


def test_a_change_to_any_kernel_dependency_moves_the_cache(tmp_path):
    """A copy of the package; after editing each file a kernel depends on, the kernels look
    in another folder (so nothing compiled from the old sources can load); editing a file
    they do not depend on changes nothing."""
    tree = tmp_path / "copy"
    shutil.copytree(SRC / "scsim", tree / "src" / "scsim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    seen = {_cache_dir(tree)}
    assert str(tree) in next(iter(seen))
    names = [path.relative_to(cache.PACKAGE) for path in cache.kernel_sources()]
    assert Path("kernels/neighbourhood.py") in names and Path("rng/counter.py") in names
    for name in names:
        with open(tree / "src" / "scsim" / name, "a") as handle:
            handle.write("\n# edited\n")
        folder = _cache_dir(tree)
        assert folder not in seen, name
        seen.add(folder)
    for name in ("report.py", "mechanisms/loan_denial.py"):  # (a mechanism: see below)
        with open(tree / "src" / "scsim" / name, "a") as handle:
            handle.write("\n# edited\n")
        assert _cache_dir(tree) in seen, name


PRINT_KERNELS = """
from scsim.kernels.generate import kernel_source
from scsim.mechanisms import BY_NAME
import hashlib
for names in (("loan_denial",), ("travel_ban",), ("loan_denial", "travel_ban")):
    text = kernel_source([BY_NAME[n] for n in names])
    print(hashlib.sha256(text.encode()).hexdigest())
"""


def _kernel_files(tree: Path) -> list[str]:
    """The names of three kernels' files (a hash of each text), from the sources in tree."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(tree / "src")
    proc = subprocess.run([sys.executable, "-c", PRINT_KERNELS], capture_output=True,
                          text=True, env=env, check=True)
    return proc.stdout.split()


def test_an_edit_to_one_mechanism_recompiles_only_the_kernels_holding_it(tmp_path):
    """A kernel's file is named after its text, which holds a hash of its mechanisms' modules:
    an edit to loan_denial.py makes new files for the kernels with it, and leaves the others'
    (already compiled) as they were."""
    tree = tmp_path / "copy"
    shutil.copytree(SRC / "scsim", tree / "src" / "scsim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    before = _kernel_files(tree)
    with open(tree / "src" / "scsim" / "mechanisms" / "loan_denial.py", "a") as handle:
        handle.write("\nA_CONSTANT_THE_HOOKS_MIGHT_READ = 1\n")
    after = _kernel_files(tree)
    assert after[0] != before[0] and after[2] != before[2]  # the kernels holding it
    assert after[1] == before[1]  # travel_ban's alone: compiled once, still valid


def test_a_child_process_finds_the_same_folder(tmp_path):
    """Dask workers inherit NUMBA_CACHE_DIR and must not nest another folder inside it."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-c", PRINT_DIR], capture_output=True, text=True,
                          env=env, check=True)
    assert proc.stdout.strip() == str(cache.CACHE_DIR)


def test_stale_folders_of_other_sources_are_pruned(tmp_path):
    """Each source change leaves a cache folder behind; those untouched for two weeks go,
    the current one and recently used ones stay, and nothing else is touched."""
    current = tmp_path / f"{cache.PREFIX}current"
    old = tmp_path / f"{cache.PREFIX}old"
    recent = tmp_path / f"{cache.PREFIX}recent"
    other = tmp_path / "not-ours"
    for folder in (current, old, recent, other):
        (folder / "generated").mkdir(parents=True)
        (folder / "generated" / "k.py").write_text("# x")
    now = 10 * cache.STALE_AFTER_S
    for folder in (current, old, other):
        for path in (folder, folder / "generated", folder / "generated" / "k.py"):
            os.utime(path, (0, 0))
    for path in (recent, recent / "generated", recent / "generated" / "k.py"):
        os.utime(path, (now - 3600, now - 3600))
    assert cache.prune_stale(current, now=now) == [old]
    assert current.exists() and recent.exists() and other.exists() and not old.exists()
