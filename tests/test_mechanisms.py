"""Each mechanism of the full model against a limiting or exactly known case.

Scenarios are built as dictionaries from a small base so that each test
changes only what it examines.
"""

from __future__ import annotations

import copy

import numba
import numpy as np
import pyarrow.compute as pc
import pytest

from scsim.engine.sim import simulate
from scsim.kernels.layout import (
    LEVEL_SCORED,
    Q_BEHAVIOURS_PREVENTED,
    Q_CHILDREN_PENALISED,
    Q_INCOME_LOST,
    Q_SPEECH_LOST,
    Q_TRIPS_DENIED,
    Q_WRONGLY_SANCTIONED,
)
from scsim.results import daily_table
from scsim.scenario.load import load_scenario, validate_scenario
from scsim.scenario.pairing import no_system

from conftest import SCENARIOS

BASE = {
    "name": "mechanism",
    "run": {"days": 400, "seed": 11},
    "population": {
        "size": 20_000,
        "groups": [{"name": "majority", "share": 0.8}, {"name": "minority", "share": 0.2}],
    },
    "behaviours": {
        "jaywalk": {"kind": "offence", "daily_rate": 0.004},
        "speech": {"kind": "speech", "daily_rate": 0.003},
        "debt": {"kind": "offence", "daily_rate": 0.0005},
    },
    "channels": {
        "cameras": {
            "records": ["jaywalk"],
            "detection": 0.5,
            "false_attribution": {"behaviour": "jaywalk", "daily_rate": 0.002,
                                  "rate_by_group": {"minority": 0.01}},
        },
        "monitors": {"records": ["speech"], "detection": 0.5},
        "courts": {"records": ["debt"]},
    },
    "scheme": {"start_score": 1000, "min_score": 0, "max_score": 2000, "blacklist_below": 990,
               "points": {"jaywalk": -5, "speech": -5, "debt": -50}},
    "measures": {"travel_ban": {"daily_trip_rate": 0.05}},
}


def scenario(**changes):
    """BASE with dotted-path changes (a value of None deletes the field)."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return validate_scenario(data, "<test>").scenario


def test_expiry_restores_exactly_the_points_after_the_window():
    """Without clipping, score(d) = start + sum of the points of records made in (d - W, d].

    Compare a run with retention W against the same run without: on day d the
    difference of score sums equals minus the points of the records older than
    W days, which the run without expiry tabulates by day.
    """
    window = 100
    keep = simulate(scenario())
    expire = simulate(scenario(scheme__retention_days=window))
    points = np.array([-5, -5, -50])
    n_b = 3
    flows = keep.flows
    daily_points = (flows[:, :, n_b:2 * n_b] * points).sum(axis=-1) + flows[:, :, 2 * n_b] * -5
    old_points = np.cumsum(daily_points, axis=0)
    for day in (50, 150, 399):
        expected = keep.levels[day, :, 2] - (old_points[day - window] if day > window else 0)
        assert np.array_equal(expire.levels[day, :, 2], expected)
    assert (keep.final_score >= 0).all() and (keep.final_score <= 2000).all()  # never clipped


def test_zero_false_match_rate_gives_zero_wrongly_sanctioned():
    s = scenario(channels__cameras__false_attribution=None)
    result = simulate(s, counterfactual=no_system(s))
    assert result.ledger_sum[:, Q_WRONGLY_SANCTIONED].sum() == 0
    assert daily_table(result)["wrongly_blacklisted"].to_numpy().sum() == 0
    assert result.levels[:, :, 3].sum() > 0  # but people were blacklisted


def test_appeals_that_always_win_at_once_leave_nobody_wrongly_sanctioned():
    s = scenario(scheme__appeals={"contest_share": 1.0, "success_rate": 1.0, "delay_days": 0})
    result = simulate(s, counterfactual=no_system(s))
    assert result.ledger_sum[:, Q_WRONGLY_SANCTIONED].sum() == 0
    table = daily_table(result)
    assert table["appeals_won"].to_numpy().sum() > 0
    assert table["false_records"].to_numpy().sum() == 0


def test_false_records_make_some_citizens_wrongly_sanctioned():
    """The converse, so that the two tests above can fail."""
    s = scenario()
    result = simulate(s, counterfactual=no_system(s))
    wrongly = result.ledger_sum[:, Q_WRONGLY_SANCTIONED]
    assert wrongly.sum() > 0
    # the minority's false-match rate is five times higher
    rate = wrongly / result.population
    assert rate[1] > 2 * rate[0]


def test_counterfactual_of_a_scenario_against_itself_is_an_all_zero_ledger():
    s = scenario(
        deterrence={"decay_days": 60, "own_record": 1.0, "own_sanction": 2.0,
                    "offence_sensitivity": 0.5, "speech_sensitivity": 0.5},
        measures__speech_suspension={"days": 20},
    )
    result = simulate(s, counterfactual=s)
    for q in (Q_SPEECH_LOST, Q_BEHAVIOURS_PREVENTED, Q_TRIPS_DENIED, Q_CHILDREN_PENALISED):
        assert result.ledger_sum[:, q].sum() == 0
        assert result.ledger_sum_squares[:, q].sum() == 0  # zero for every citizen
    table = daily_table(result)
    assert table["speech_lost"].to_numpy().sum() == 0
    assert table["behaviours_prevented"].to_numpy().sum() == 0


def test_children_are_never_scored():
    s = scenario(population__households={
        "types": [{"adults": 2, "children": 2, "share": 0.5},
                  {"adults": 1, "elders": 1, "children": 1, "share": 0.5}],
        "neighbourhood_size": 32,
    })
    result = simulate(s)
    scored = result.levels[0, :, LEVEL_SCORED].sum()
    # children are 2/4 and 1/3 of members: 5/12 of the population (up to truncation)
    assert scored < 0.65 * s.population.size
    assert result.levels[-1, :, 3].sum() <= scored
    # events of all behaviours come from scored citizens only: compare rates
    committed = result.flows[:, :, 0].sum()
    expected = scored * 0.004 * 400
    assert abs(committed - expected) < 5 * np.sqrt(expected)


def test_a_sanction_change_leaves_behaviour_draws_unchanged_without_deterrence():
    """Common random numbers: two runs differing only in a sanction commit the same events."""
    a = simulate(scenario())
    b = simulate(scenario(measures__travel_ban={"daily_trip_rate": 0.5},
                          measures__speech_suspension=None))
    n_b = 3
    assert np.array_equal(a.flows[:, :, :n_b], b.flows[:, :, :n_b])
    assert np.array_equal(a.final_score, b.final_score)
    assert not np.array_equal(a.flows[:, :, 2 * n_b + 1], b.flows[:, :, 2 * n_b + 1])


def test_deterrence_prevents_offences_against_no_system():
    s = scenario(deterrence={"decay_days": 90, "own_record": 2.0, "offence_sensitivity": 1.0,
                             "speech_sensitivity": 1.0})
    result = simulate(s, counterfactual=no_system(s))
    assert result.ledger_sum[:, Q_BEHAVIOURS_PREVENTED].sum() > 0
    assert result.ledger_sum[:, Q_SPEECH_LOST].sum() > 0


def test_suspension_blocks_speech_and_counts_as_lost():
    s = scenario(measures__speech_suspension={"days": 30})
    result = simulate(s, counterfactual=no_system(s))
    table = daily_table(result)
    blocked = table["speech_blocked"].to_numpy().sum()
    assert blocked > 0
    # without deterrence no speech is chilled, so every blocked post is lost
    assert result.ledger_sum[:, Q_SPEECH_LOST].sum() == blocked


def test_school_admission_is_refused_only_for_children_of_listed_parents():
    s = scenario(
        population__households={"types": [{"adults": 2, "children": 2, "share": 1.0}],
                                "neighbourhood_size": 16},
        measures__school_admission={"day_of_year": 200, "applying_share": 1.0},
    )
    result = simulate(s, counterfactual=no_system(s))
    table = daily_table(result)
    applications = table["school_applications"].to_numpy().sum()
    refused = table["school_admissions_refused"].to_numpy().sum()
    children = s.population.size // 2
    assert applications == children
    assert 0 < refused < applications
    assert result.ledger_sum[:, Q_CHILDREN_PENALISED].sum() == refused


@pytest.mark.parametrize("threads", [1, 2])
def test_neighbourhoods_with_spillovers_are_deterministic(threads):
    s = scenario(
        population__households={"types": [{"adults": 2, "children": 1, "share": 0.6},
                                          {"adults": 1, "share": 0.4}],
                                "neighbourhood_size": 48, "contacts_per_citizen": 3},
        deterrence={"decay_days": 60, "own_sanction": 1.0, "household_sanction": 1.0,
                    "contact_sanction": 0.5, "offence_sensitivity": 1.0},
        scheme__retention_days=120,
        scheme__appeals={"contest_share": 0.5, "success_rate": 0.5, "delay_days": 30},
    )
    reference = simulate(s, counterfactual=no_system(s), chunk_size=1 << 20)
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        other = simulate(s, counterfactual=no_system(s), chunk_size=48 * 7)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(reference.flows, other.flows)
    assert np.array_equal(reference.levels, other.levels)
    assert np.array_equal(reference.ledger_sum, other.ledger_sum)
    assert np.array_equal(reference.final_score, other.final_score)


def test_a_counterfactual_of_another_world_is_refused():
    with pytest.raises(ValueError, match="counterfactual run: differs"):
        simulate(scenario(), counterfactual=scenario(run__days=399))


def test_personal_propensity_concentrates_offences_as_the_mixture_predicts():
    """Two propensity levels, careful (80%, rate x 0.25) and reckless (20%, x 4): mean x 1.

    One recorded offence blacklists, so a citizen is ever sanctioned iff they
    offend at least once in T days: P = sum_k share_k (1 - (1 - m_k p)^T) =
    0.337 for the mixture, against 0.551 for everyone at the mean rate.  With
    n citizens the share's sd is sqrt(P (1 - P) / n) < 0.003; allow 4 sd.
    The total committed follows the mean rate: n T p.  A citizen's count has
    variance E[Var | level] + Var(E | level) = T p E[m] + (T p)^2 Var(m), with
    E[m] = 1 and Var(m) = 0.8 * 0.25^2 + 0.2 * 4^2 - 1 = 2.25; allow 4 sd of the sum.
    """
    p, days, n = 0.002, 400, 40_000
    s = scenario(
        population__size=n,
        population__propensity_levels=[{"name": "careful", "share": 0.8},
                                       {"name": "reckless", "share": 0.2}],
        behaviours={"act": {"kind": "offence", "daily_rate": p,
                            "multiplier_by_propensity": {"careful": 0.25, "reckless": 4.0}}},
        channels={"courts": {"records": ["act"]}},
        scheme__points={"act": -10},
        scheme__blacklist_below=995,
        run__days=days,
    )
    result = simulate(s)
    mixture = 0.8 * (1 - (1 - 0.25 * p) ** days) + 0.2 * (1 - (1 - 4 * p) ** days)
    share = result.ledger_sum[:, 0].sum() / n  # Q_SANCTIONED
    assert abs(share - mixture) < 4 * np.sqrt(mixture * (1 - mixture) / n)
    assert abs(share - (1 - (1 - p) ** days)) > 0.2
    committed = result.run.flows[1:, :, 0].sum()
    per_citizen_variance = days * p + (days * p) ** 2 * 2.25
    assert abs(committed - n * days * p) < 4 * np.sqrt(n * per_citizen_variance)


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


def test_human_review_that_catches_every_false_record_lets_none_count():
    s = scenario(scheme__human_review={"false_record_catch": 1.0})
    result = simulate(s, counterfactual=no_system(s))
    rows = daily_table(result).to_pylist()
    assert sum(r["false_records_caught_by_review"] for r in rows) > 0
    assert sum(r["false_records"] for r in rows) == 0
    assert result.ledger_sum[:, Q_WRONGLY_SANCTIONED].sum() == 0


def test_credit_repair_of_every_record_at_once_is_the_same_as_no_points():
    """A record repaired on the day it is made never counts: as if it carried no points."""
    common = {"channels__cameras__false_attribution": None}
    repaired = simulate(scenario(**common, scheme__credit_repair={
        "share": 1.0, "delay_days": 0, "behaviours": ["jaywalk"]}))
    pointless = simulate(scenario(**common, scheme__points={"speech": -5, "debt": -50}))
    assert np.array_equal(repaired.final_score, pointless.final_score)
    rows = daily_table(repaired).to_pylist()
    assert sum(r["records_repaired"] for r in rows) == sum(r["jaywalk_recorded"] for r in rows) > 0
    assert [r["blacklisted"] for r in rows] == [r["blacklisted"] for r in
                                                daily_table(pointless).to_pylist()]


def test_employment_penalty_loses_exactly_the_income_difference_per_listed_day():
    """Everyone earns 30 a day; listed, they are paid as one level down (10): 20 lost a day."""
    s = scenario(
        population__income_levels=[{"name": "low", "share": 0.0, "daily_income": 10},
                                   {"name": "high", "share": 1.0, "daily_income": 30}],
        measures__employment_penalty={"levels_down": 1},
    )
    result = simulate(s, counterfactual=no_system(s))
    rows = daily_table(result).to_pylist()
    assert all(r["income_lost"] == 20 * r["blacklisted"] for r in rows)
    total = sum(r["blacklisted"] for r in rows)
    assert total > 0
    assert result.ledger_sum[:, Q_INCOME_LOST].sum() == 20 * total


def test_deposit_waiver_follows_the_rewarded_grade_exactly():
    grades = [{"name": "a", "min_score": 1000}, {"name": "b", "min_score": 990},
              {"name": "c", "min_score": 0}]
    s = scenario(scheme__grades=grades, measures__deposit_waiver={"grades": ["a"]})
    rows = daily_table(simulate(s)).to_pylist()
    assert all(r["deposit_waived"] == r["grade_a"] for r in rows)
    assert rows[-1]["grade_a"] < rows[0]["grade_a"]


def test_household_spillover_needs_a_household():
    """With one-person households, a household jump in risk reaches nobody: results are those
    of the same deterrence without it; with couples it deters (fewer offences)."""
    deterrence = {"decay_days": 200.0, "own_sanction": 1.0, "offence_sensitivity": 1.0}

    def run(adults: int, household_sanction: float):
        return daily_table(simulate(scenario(
            population__households={"types": [{"adults": adults, "share": 1.0}]},
            deterrence={**deterrence, "household_sanction": household_sanction},
        ))).to_pylist()

    assert run(1, 5.0) == run(1, 0.0)
    committed_with = sum(r["offences_committed"] for r in run(2, 5.0))
    committed_without = sum(r["offences_committed"] for r in run(2, 0.0))
    assert committed_with < committed_without


@pytest.mark.parametrize("households", [False, True])
def test_group_shares_by_region_place_every_citizen_of_a_region_in_its_groups(households):
    """North holds only the minority; south keeps the default 80/20 split.

    Exact: no citizen of the north is in the majority (checked member by member
    with the traits the kernel derives).  Statistical: the minority share is
    0.5 + 0.5 * 0.2 = 0.6 of citizens, with sd below 0.004 for 20,000
    citizens in whole households of neighbourhoods; allow 0.03.
    """
    from scsim.engine.tables import compile_tables
    from scsim.kernels.neighbourhood import neighbourhood_members
    from scsim.rng.counter import seed_key

    changes = {
        "population__regions": [{"name": "north", "share": 0.5}, {"name": "south", "share": 0.5}],
        "population__group_shares_by_region": {"north": {"minority": 1.0}},
    }
    if households:
        changes["population__households"] = {"types": [{"adults": 2, "children": 1,
                                                        "share": 1.0}],
                                             "neighbourhood_size": 16}
    s = scenario(**changes)
    result = simulate(s)
    assert result.population[1] / result.population.sum() == pytest.approx(0.6, abs=0.03)
    t = compile_tables(s)
    key = np.uint64(seed_key(s.run.seed))
    unit = t.unit_size
    north = 0
    for first in range(0, 4000, unit):
        traits = neighbourhood_members(key, np.int64(first), np.int64(unit), t)
        in_north = traits[:, 2] == 0
        north += int(in_north.sum())
        assert (traits[in_north, 0] == 1).all()
    assert north > 1000


def test_false_records_per_channel_add_up_to_the_total():
    """The demo's three false-attribution channels each tally their own false records."""
    s = load_scenario(SCENARIOS / "demo.toml", {"population.size": 50_000}).scenario
    daily = daily_table(simulate(s))
    channels = [c for c, ch in s.channels.items() if ch.false_attribution is not None]
    per_channel = [pc.sum(daily.column(f"false_records_by_{c}")).as_py() for c in channels]
    assert len(channels) == 3 and all(n > 0 for n in per_channel)
    assert sum(per_channel) == pc.sum(daily.column("false_records")).as_py()
