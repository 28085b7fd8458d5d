"""Golden baselines: content hashes of the outputs of four reference runs.

``make baselines`` (``python tests/golden.py --update``) rewrites
``tests/baselines/golden.json`` on purpose; ``tests/test_golden.py`` fails on
any difference. Tables are hashed by content (each column's name, type and
values), not by file bytes, so a pyarrow upgrade that writes other metadata
does not count as a change; the ledger is hashed as canonical JSON with
floats to 12 significant digits.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINES = HERE / "baselines" / "golden.json"
SCENARIOS = ROOT / "scenarios"

CASES = {
    "r0": ("r0.toml", None, {"population.size": 200_000}),
    "demo": ("demo.toml", "none", {"population.size": 200_000}),
    "national-sample": ("national-empty-list.toml", "none", {"population.size": 300_000}),
    "safeguards-vs-national": ("safeguards.toml", "national.toml",
                               {"population.size": 300_000}),
}


def table_sha256(table: pa.Table) -> str:
    digest = hashlib.sha256()
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        digest.update(f"{name}:{column.type}\0".encode())
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            digest.update("\0".join(column.to_pylist()).encode())
        else:
            values = column.to_numpy(zero_copy_only=False)
            digest.update(np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<")))
                          .tobytes())
    return digest.hexdigest()


def _rounded(value):
    """Floats to 12 significant digits, so a last-bit change in a library's special function
    (the ledger's interval bounds) is not a change of results; counts stay exact."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def compute() -> dict[str, dict[str, str]]:
    """Run every case in memory and hash its outputs."""
    from scsim.engine.sim import simulate
    from scsim.ledger import build_ledger
    from scsim.results import daily_table, histogram_table, transitions_table
    from scsim.scenario import load_scenario
    from scsim.scenario.pairing import no_system

    hashes = {}
    for case, (file, counterfactual, overrides) in CASES.items():
        s = load_scenario(SCENARIOS / file, overrides).scenario
        cf = None
        if counterfactual == "none":
            cf = no_system(s)
        elif counterfactual is not None:
            cf = load_scenario(SCENARIOS / counterfactual, overrides).scenario
        result = simulate(s, counterfactual=cf)
        ledger = build_ledger(result, counterfactual)
        hashes[case] = {
            "daily.parquet": table_sha256(daily_table(result)),
            "score_histogram.parquet": table_sha256(histogram_table(result)),
            "grade_transitions.parquet": table_sha256(transitions_table(result)),
            "ledger.json": hashlib.sha256(json.dumps(_rounded(ledger), sort_keys=True)
                                          .encode()).hexdigest(),
        }
    return hashes


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print("usage: python tests/golden.py --update   (rewrites the golden baselines)")
        return 2
    BASELINES.parent.mkdir(exist_ok=True)
    BASELINES.write_text(json.dumps(compute(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {BASELINES}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
