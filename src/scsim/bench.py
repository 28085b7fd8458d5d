"""The standard benchmarks: R0 at several sizes, each run as its own process.

Each case is a plain ``scsim run`` in a fresh process, so its peak memory
(``ru_maxrss``) is its own. The figures come from the run's ``summary.json``:
citizen-days per second of the simulation loop, wall time of the whole run
(population, simulation, tables, writing), and peak resident memory.
Reported values are medians over repeats (peak memory: the maximum).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

R0_RATES = (  # every event rate of R0, scaled together by the event-rate check
    "behaviours.jaywalk.daily_rate",
    "behaviours.late_payment.daily_rate",
    "behaviours.speech.daily_rate",
    "behaviours.good_deed.daily_rate",
    "behaviours.court_default.daily_rate",
    "measures.travel_ban.daily_trip_rate",
)
R0_VALUES = (0.002, 0.001, 0.0005, 0.001, 0.00003, 0.01)
NATIONAL_POPULATION = 1_410_000_000


@dataclass
class BenchCase:
    name: str
    scenario: Path
    population: int
    days: int = 365
    sets: list[str] = field(default_factory=list)
    kernel: str = "specialised"
    """``scsim run --kernel``: the specialised kernel, the fast path at scale, by default."""


@dataclass
class BenchResult:
    name: str
    population: int
    days: int
    citizen_days_per_s: float
    wall_time_s: float
    simulate_s: float
    peak_memory_bytes: int
    bytes_per_citizen: int
    threads: int
    runs: list[dict]
    kernel: str = "specialised"


def shipped_scenario(name: str) -> Path | None:
    """A scenario shipped with scsim: inside an installed wheel, or in the source checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "scenarios" / name, package.parents[1] / "scenarios" / name):
        if candidate.is_file():
            return candidate
    return None


def r0_cases(scenario: Path, sizes: list[int], national: bool,
             kernel: str = "specialised") -> list[BenchCase]:
    cases = [BenchCase(f"r0-{n:.0e}".replace("+0", ""), scenario, n, kernel=kernel)
             for n in sizes]
    largest = max(sizes)
    tenth = [
        f"{path}={value / 10!r}" for path, value in zip(R0_RATES, R0_VALUES, strict=True)
    ] + [
        "channels.traffic_cameras.false_attribution.daily_rate=1e-6",
        "channels.traffic_cameras.false_attribution.rate_by_group.minority=1e-5",
    ]
    cases.append(BenchCase(f"r0-{largest:.0e}-rates/10".replace("+0", ""), scenario, largest,
                           sets=tenth, kernel=kernel))
    if national:
        cases.append(BenchCase("r0-national", scenario, NATIONAL_POPULATION, kernel=kernel))
    return cases


def run_case(case: BenchCase, repeats: int, workdir: Path) -> BenchResult:
    runs = []
    for k in range(repeats):
        out = workdir / f"{case.name.replace('/', '_')}-{k}"
        cmd = [sys.executable, "-m", "scsim", "run", str(case.scenario), "--quiet", "--force",
               "--out", str(out), "--population", str(case.population), "--days",
               str(case.days), "--kernel", case.kernel]
        for assignment in case.sets:
            cmd += ["--set", assignment]
        subprocess.run(cmd, check=True, env=os.environ.copy())
        summary = json.loads((out / "summary.json").read_text())
        runs.append({
            "citizen_days_per_s": summary["citizen_days_per_s"],
            "wall_time_s": summary["wall_time_s"],
            "simulate_s": summary["timings_s"]["simulate_s"],
            "peak_memory_bytes": summary["peak_memory_bytes"],
        })
        last = summary
    return BenchResult(
        name=case.name,
        population=case.population,
        days=case.days,
        citizen_days_per_s=statistics.median(r["citizen_days_per_s"] for r in runs),
        wall_time_s=statistics.median(r["wall_time_s"] for r in runs),
        simulate_s=statistics.median(r["simulate_s"] for r in runs),
        peak_memory_bytes=max(r["peak_memory_bytes"] for r in runs),
        bytes_per_citizen=last["bytes_per_citizen"],
        threads=last["threads"],
        runs=runs,
        kernel=case.kernel,
    )


def run_benchmarks(cases: list[BenchCase], repeats: int, progress=None) -> list[BenchResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="scsim-bench-") as tmp:
        for case in cases:
            if progress is not None:
                progress(case)
            results.append(run_case(case, repeats, Path(tmp)))
    return results


def results_document(results: list[BenchResult], repeats: int) -> dict:
    from scsim.runner import provenance

    return {"repeats": repeats, "machine": provenance(), "results": [asdict(r) for r in results]}
