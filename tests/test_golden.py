"""The golden baselines: any change of any output of the four reference runs fails here.

A deliberate change of results is recorded with ``make baselines``; the diff
of ``tests/baselines/golden.json`` then shows which outputs changed.
"""

from __future__ import annotations

import json

import pytest

from golden import BASELINES, compute


@pytest.fixture(scope="module")
def now():
    return compute()


def test_outputs_equal_the_golden_baselines(now):
    expected = json.loads(BASELINES.read_text())
    assert set(now) == set(expected)
    changed = [f"{case}/{file}" for case in expected for file in expected[case]
               if now[case][file] != expected[case][file]]
    assert not changed, f"outputs changed: {changed}; if on purpose, run make baselines"


def test_the_hash_sees_a_one_count_change():
    import pyarrow as pa

    from golden import table_sha256

    a = pa.table({"day": [1, 2], "blacklisted": [5, 6]})
    b = pa.table({"day": [1, 2], "blacklisted": [5, 7]})
    assert table_sha256(a) != table_sha256(b)
    assert table_sha256(a) == table_sha256(pa.table({"day": [1, 2], "blacklisted": [5, 6]}))
