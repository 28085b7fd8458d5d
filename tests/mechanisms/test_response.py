"""Sanctions that buy compliance: what the sanctions cost moves who pays and who defaults.

``scsim.mechanisms.response``: each sanction declares what a listed day costs; the unwilling
debtors' share paying under pressure scales with that cost, and a listing behaviour is
deterred by it.  An elasticity of 0, or a sanction that costs nothing, changes nothing; a
costly sanction switched off changes both benefits, exactly per citizen.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from scsim.engine.sim import simulate
from scsim.engine.tables import compile_tables
from scsim.ledger import build_ledger
from scsim.mechanisms import costly_sanctions, listed_daily_cost
from scsim.mechanisms.judgments import performance
from scsim.results import daily_table
from scsim.scenario.load import load_scenario
from scsim.scenario.pairing import no_system

from mechanism_base import scenario

NATIONAL = Path(__file__).resolve().parents[2] / "scenarios" / "national-empty-list.toml"


def _national(size: int, **changes):
    return load_scenario(NATIONAL, {"population.size": size, **changes}).scenario


def _without_travel_ban(s):
    return s.model_copy(update={"measures": s.measures.model_copy(update={"travel_ban": None})})


def _overall(result, label: str) -> dict:
    return build_ledger(result, label)["overall"]


def test_the_national_reference_cost_is_its_sanctions_mean_cost_to_the_listed():
    """The preset's reference is what its sanctions cost the citizens it lists, on average
    (the comment's derivation, kept in step with the values).  At 2e6 about 3,300 are listed
    and their costs spread with a standard deviation of about 3 yuan, so the sample mean has
    a standard error of about 0.05 yuan; 4 of them is 0.2 yuan, 3% of the reference."""
    s = _national(2_000_000)
    tables = compile_tables(s)
    assert {m.name for m in costly_sanctions(s)} == {
        "travel_ban", "employment_penalty", "school_admission"}
    cost = listed_daily_cost(s, tables)
    result = simulate(s)
    listed = result.cell_sum[..., result.kernel_layout.quantity("sanctioned")]
    # cells are (region, age band: adult, elder, child; income, group); classes end with
    # the age band (adult 0, elder 1) and have the income level before region and propensity
    inner = tables.n_regions * tables.n_propensities * 2
    income = (np.arange(tables.n_classes) // inner) % tables.n_incomes
    age = np.arange(tables.n_classes) % 2
    by_cell = np.array([[cost[(age == a) & (income == i)].mean() for i in range(
        tables.n_incomes)] for a in (0, 1)])
    weights = listed.sum(axis=(0, 3))[:2]  # (adult, elder) x income
    assert weights.sum() > 3_000
    mean = (weights * by_cell).sum() / weights.sum()
    assert mean == pytest.approx(s.response.reference_daily_cost_yuan, abs=0.2)


def test_the_share_performing_scales_with_the_cost_as_its_elasticity_says():
    s = _national(1000, **{"response.performance_elasticity": 0.5})
    tables = compile_tables(s)
    j, r = s.scheme.judgments, s.response
    ratio = listed_daily_cost(s, tables) / r.reference_daily_cost_yuan
    expected = j.anyway_share + (j.performance_share - j.anyway_share) * np.sqrt(ratio)
    assert np.allclose(performance(s, tables), expected, rtol=1e-12)
    # cheaper sanctions: fewer pay, never fewer than those who would have paid anyway
    cheaper = performance(_without_travel_ban(s), tables)
    assert (cheaper < performance(s, tables)).all() and (cheaper >= j.anyway_share).all()
    # at most every unwilling debtor pays, however costly the sanctions
    dear = s.model_copy(update={"response": r.model_copy(
        update={"reference_daily_cost_yuan": 1e-6})})
    assert (performance(dear, tables) == 1.0).all()


def test_an_elasticity_of_0_is_the_run_without_the_response():
    s = _national(20_000, **{"response.performance_elasticity": 0.0,
                             "response.default_elasticity": 0.0})
    without = s.model_copy(update={"response": None})
    a, b = simulate(s, counterfactual=no_system(s)), simulate(without,
                                                             counterfactual=no_system(without))
    assert daily_table(a).equals(daily_table(b))
    assert (a.ledger_sum == b.ledger_sum).all() and (a.final_score == b.final_score).all()
    assert a.run.flows.sum() > 0


def test_a_sanction_that_costs_nothing_changes_no_decision():
    """A travel ban whose refusals cost nothing, against no travel ban at all: every citizen
    defaults and pays exactly as without it (it still refuses trips)."""
    s = _national(100_000, **{"measures.travel_ban.yuan_per_refused_trip": 0.0})
    ledger = _overall(simulate(s, counterfactual=_without_travel_ban(s)), "no travel ban")
    for benefit in ("behaviours_prevented", "judgments_performed_under_pressure"):
        assert ledger[benefit]["value"] == 0, benefit
    assert ledger["trips_denied"]["value"] > 0
    # and with its cost, the same pair differs (the next test measures how)
    costly = _national(100_000)
    ledger = _overall(simulate(costly, counterfactual=_without_travel_ban(costly)),
                      "no travel ban")
    assert ledger["behaviours_prevented"]["value"] > 0


def test_switching_the_travel_ban_off_costs_both_benefits():
    """National at 1e6: the travel ban's cost buys judgments and prevents defaults.  Paired
    with the same world without it (common random numbers: a paired difference per
    citizen), each benefit is above 0 with a 95% interval that excludes 0; and each run
    paired with 'none' shows the lower level without it."""
    s = _national(1_000_000)
    off = _without_travel_ban(s)
    ledger = _overall(simulate(s, counterfactual=off), "no travel ban")
    for benefit in ("judgments_performed_under_pressure", "behaviours_prevented"):
        entry = ledger[benefit]
        assert entry["value"] > 0 and entry["ci95_per_100k"][0] > 0, (benefit, entry)
    with_ban = _overall(simulate(s, counterfactual=no_system(s)), "none")
    without_ban = _overall(simulate(off, counterfactual=no_system(off)), "none")
    for benefit in ("judgments_performed_under_pressure", "behaviours_prevented"):
        assert with_ban[benefit]["value"] > without_ban[benefit]["value"], benefit


def test_a_listing_behaviour_is_thinned_by_exp_of_minus_the_perceived_cost():
    """Each default a citizen would commit without the response is committed with it with
    probability f = exp(-e r C / reference), on the same ACCEPT draw: the defaults with it are
    a Binomial(n, f) thinning of the n without it (no other mechanism here moves the rate).
    The tolerance is 4 standard deviations, sqrt(n f (1 - f))."""
    world = {"scheme__blacklist_behaviours": ["debt"], "scheme__blacklist_below": None,
             "measures__travel_ban": {"daily_trip_rate": 0.02, "yuan_per_refused_trip": 100},
             "population__size": 50_000}
    elasticity, reference = 0.8, 2.0
    with_it = scenario(**world, response={"reference_daily_cost_yuan": reference,
                                          "default_elasticity": elasticity})
    without = scenario(**world)
    a, b = daily_table(simulate(with_it)), daily_table(simulate(without))
    k, n = int(a["debt_committed"].to_numpy().sum()), int(b["debt_committed"].to_numpy().sum())
    f = math.exp(-elasticity * 1.0 * (0.02 * 100) / reference)  # courts record every default
    assert k < n and abs(k - n * f) < 4 * math.sqrt(n * f * (1 - f)), (k, n, n * f)
    # the other behaviours are untouched
    assert np.array_equal(a["jaywalk_committed"].to_numpy(), b["jaywalk_committed"].to_numpy())


def test_a_sanction_to_come_costs_nothing_until_its_day():
    """School admission in force from 2021-03-01: the periods before it respond to the travel
    ban's and the employment penalty's cost alone, those from it to all three; the judgments'
    share performing follows (per period, as the kernel reads it)."""
    from scsim.engine.choice import parameters, plan_kernel
    from scsim.scenario.schedule import periods

    s = _national(1000, **{"run.start": "2021-01-01", "schedule": [
        {"date": "2021-03-01", "in_force": ["measures.school_admission"]}]})
    tables = compile_tables(s)
    before, after = (p.scenario for p in periods(s))
    assert before._not_yet_in_force == {"measures.school_admission"}
    assert not after._not_yet_in_force
    names = [m.name for m in costly_sanctions(before)]
    assert "school_admission" not in names and "travel_ban" in names
    assert "school_admission" in [m.name for m in costly_sanctions(after)]
    without_school = s.model_copy(update={"measures": s.measures.model_copy(
        update={"school_admission": None})})
    assert np.array_equal(listed_daily_cost(before, tables),
                          listed_daily_cost(without_school, tables))
    plan = plan_kernel(s, kernel="universal")
    judged = parameters(plan.mechanisms, s, tables, scheduled=True)[
        [m.name for m in plan.mechanisms].index("judgments")]
    assert np.allclose(judged.performance[0], performance(without_school, tables))
    assert np.allclose(judged.performance[1], performance(s, tables))
    # (school places cost adults, who have children; elders' classes are unchanged)
    assert (judged.performance[0] <= judged.performance[1]).all()
    assert (judged.performance[0] < judged.performance[1]).any()
