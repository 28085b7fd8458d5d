"""Loan denial (a mechanism module): against limiting and exactly known cases."""

from __future__ import annotations

import numpy as np

from scsim.engine.sim import simulate
from scsim.ledger import build_ledger
from scsim.results import daily_table
from scsim.scenario.pairing import no_system

from mechanism_base import scenario

RATE = 0.02


def test_loans_denied_are_binomial_in_the_days_listed():
    """Each listed citizen-day refuses one application with probability p, independently
    (one counter-based draw per day): given D listed citizen-days, the count is
    Binomial(D, p), mean D p, variance D p (1 - p); 5 standard deviations bound it."""
    result = simulate(scenario(measures__loan_denial={"daily_application_rate": RATE}))
    table = daily_table(result)
    listed_days = table["blacklisted"].to_numpy().sum()
    denied = table["loans_denied"].to_numpy()
    assert listed_days > 10_000
    mean, sd = listed_days * RATE, np.sqrt(listed_days * RATE * (1 - RATE))
    assert abs(denied.sum() - mean) < 5 * sd
    # nobody is refused a loan on a day nobody is listed
    assert (denied[table["blacklisted"].to_numpy() == 0] == 0).all()
    assert result.ledger_sums("loans_denied").sum() == denied.sum()  # unpaired: a level


def test_a_rate_of_zero_changes_nothing_else():
    """The module is in the kernel but draws nothing: every other output is bit-identical."""
    without = daily_table(simulate(scenario()))
    zero = daily_table(simulate(scenario(measures__loan_denial={"daily_application_rate": 0})))
    assert zero["loans_denied"].to_numpy().sum() == 0
    assert zero.drop_columns(["loans_denied"]).equals(without)


def test_a_scenario_without_it_has_no_loan_columns_and_no_quantity():
    result = simulate(scenario())
    assert "loans_denied" not in daily_table(result).column_names
    assert "loans_denied" not in build_ledger(result, None)["quantities"]
    assert "loan_denial" not in result.kernel_layout.mechanisms  # absent: not compiled in


def test_paired_with_no_system_every_denial_is_the_systems():
    s = scenario(measures__loan_denial={"daily_application_rate": RATE})
    result = simulate(s, counterfactual=no_system(s))
    table = daily_table(result)
    ledger = build_ledger(result, "none")
    assert ledger["totals"]["loans_denied"] == table["loans_denied"].to_numpy().sum() > 0
    assert table["counterfactual_loans_denied"].to_numpy().sum() == 0
    assert ledger["quantities"]["loans_denied"]["measure"] == "paired difference"


def test_loan_and_trip_draws_are_independent_streams():
    """Same rate for both, different purposes: the same listed days give different days."""
    result = simulate(scenario(measures__travel_ban={"daily_trip_rate": RATE},
                               measures__loan_denial={"daily_application_rate": RATE}))
    table = daily_table(result)
    loans, trips = table["loans_denied"].to_numpy(), table["denied_trips"].to_numpy()
    assert loans.sum() > 100 and trips.sum() > 100
    assert not np.array_equal(loans, trips)


def test_the_life_story_tells_a_refused_loan():
    from scsim.engine.trace import Tracer
    from scsim.story import tell

    s = scenario(population__size=2000,
                 measures__loan_denial={"daily_application_rate": 0.2})
    result = simulate(s)
    tracer = Tracer(s)
    listed = np.flatnonzero(result.final_score < s.scheme.blacklist_below)
    story = tell(tracer.trace(int(listed[0])))
    assert any("loan application REFUSED" in text for _, _, text in story.events)
    assert story.ledger["loans_denied"] > 0
