"""Grades: transitions and the deposit waiver: against limiting or exactly known cases."""

from __future__ import annotations

from scsim.engine.sim import simulate
from scsim.results import daily_table

from mechanism_base import scenario


def test_grade_transitions_account_for_every_change_of_grade_counts():
    """For each day, group and grade: the change in its count = moves in - moves out."""
    from scsim.results import transitions_table

    grades = [{"name": "a", "min_score": 1000}, {"name": "b", "min_score": 990},
              {"name": "c", "min_score": 0}]
    s = scenario(scheme__grades=grades, scheme__retention_days=60,
                 behaviours__kind_good={"kind": "good_deed", "daily_rate": 0.003},
                 channels__courts__records=["debt", "kind_good"],
                 scheme__points={"jaywalk": -5, "speech": -5, "debt": -50, "kind_good": 5})
    result = simulate(s)
    daily = daily_table(result).to_pylist()
    moves = transitions_table(result).to_pylist()
    assert moves and {m["from_grade"] for m in moves} == {"a", "b", "c"}
    net = {}
    for m in moves:
        net[(m["day"], m["group"], m["to_grade"])] = net.get(
            (m["day"], m["group"], m["to_grade"]), 0) + m["citizens"]
        net[(m["day"], m["group"], m["from_grade"])] = net.get(
            (m["day"], m["group"], m["from_grade"]), 0) - m["citizens"]
    previous = {}
    for row in daily:
        for g in ("a", "b", "c"):
            before = previous.get((row["group"], g), row["scored"] if g == "a" else 0)
            assert row[f"grade_{g}"] - before == net.get((row["day"], row["group"], g), 0)
            previous[(row["group"], g)] = row[f"grade_{g}"]


def test_deposit_waiver_follows_the_rewarded_grade_exactly():
    grades = [{"name": "a", "min_score": 1000}, {"name": "b", "min_score": 990},
              {"name": "c", "min_score": 0}]
    s = scenario(scheme__grades=grades, measures__deposit_waiver={"grades": ["a"]})
    rows = daily_table(simulate(s)).to_pylist()
    assert all(r["deposit_waived"] == r["grade_a"] for r in rows)
    assert rows[-1]["grade_a"] < rows[0]["grade_a"]
