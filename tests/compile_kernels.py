"""Compile the kernels the test suite needs before it starts, one process per core.

Most of a clean clone's test time is numba compiling: the universal kernel (about
3.5 minutes), which every pytest-xdist worker would otherwise compile at once,
each for itself, and the kernel specialised for each preset, which
``tests/test_universal_kernel.py`` compares with it (1 to 2 minutes each, one
after another in the worker that holds that file).  Compiled here, the longest
first, across the cores, each kernel compiles once into numba's on-disk cache
(``scsim.kernels.cache``) and every test process loads it from there.

``make test`` runs this before pytest (``python tests/compile_kernels.py``); a kernel
already in the cache only loads.  The tests do not depend on it: without it they
compile what they need themselves, only later.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
UNIVERSAL = "universal"


def _compile(name: str) -> tuple[str, float]:
    """Compile (or load) one kernel: the universal one, or a preset's specialised one."""
    from scsim.engine.warmup import warm_up
    from scsim.scenario.load import load_scenario

    began = time.perf_counter()
    if name == UNIVERSAL:
        warm_up(kernel="universal")
    else:
        warm_up(load_scenario(SCENARIOS / f"{name}.toml").scenario, kernel="specialised")
    return name, time.perf_counter() - began


def _longest_first(presets: list[str]) -> list[str]:
    """The universal kernel, then one preset per specialised kernel (presets with the same
    mechanisms share one: national is the history's last year), those with the most
    mechanisms (the longest compiles) first, so that the last to finish is a short one."""
    from scsim.engine.choice import kernel_kind
    from scsim.mechanisms import in_kernel
    from scsim.scenario.load import load_scenario

    first_of_kernel: dict[tuple, str] = {}
    for name in sorted(presets):
        s = load_scenario(SCENARIOS / f"{name}.toml").scenario
        key = (*(m.name for m in in_kernel(s)), *kernel_kind(s, None).values())
        first_of_kernel.setdefault(key, name)
    size = {name: len(key) for key, name in first_of_kernel.items()}
    return [UNIVERSAL, *sorted(size, key=lambda name: (-size[name], name))]


def main() -> int:
    presets = sorted(path.stem for path in SCENARIOS.glob("*.toml"))
    order = _longest_first(presets)
    processes = min(len(order), os.cpu_count() or 1)
    began = time.perf_counter()
    print(f"compiling {len(order)} kernels in {processes} processes "
          f"(the universal one and each preset's)", flush=True)
    context = multiprocessing.get_context("spawn")  # (no numba state shared with a fork)
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        jobs = [pool.submit(_compile, name) for name in order]
        for job in as_completed(jobs):
            name, seconds = job.result()
            print(f"  {name}: {seconds:.0f} s", flush=True)
    print(f"kernels ready in {time.perf_counter() - began:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
