"""Judgment debtors (a mechanism module): unable or unwilling, performance under the list's
pressure and its within-run counterfactual, delisting of the unable."""

from __future__ import annotations

import numpy as np
import pytest

from scsim.engine.sim import simulate
from scsim.engine.trace import Tracer
from scsim.kernels.layout import FlowLayout
from scsim.ledger import build_ledger
from scsim.results import daily_table
from scsim.scenario.load import ScenarioError
from scsim.scenario.pairing import no_system

from mechanism_base import scenario

DAYS = 400
DELAY = 60
INCOMES = [{"name": "low", "share": 0.5, "daily_income": 30},
           {"name": "high", "share": 0.5, "daily_income": 200}]


def _judged(judgments=None, **changes):
    """The court list on debt (every debt recorded), with these judgment debtors."""
    return scenario(scheme__blacklist_behaviours=["debt"], scheme__blacklist_below=None,
                    scheme__judgments=judgments, **changes)


def _flows(result, *names):
    """Each flow per day (day 0 first), summed over the groups."""
    table = daily_table(result)
    day = table["day"].to_numpy()
    return [np.bincount(day, weights=table[name].to_numpy()).astype(np.int64)
            for name in names]


def _within_sd(count, n, p, sds=5.0):
    """|count - n p| within ``sds`` standard deviations of Binomial(n, p)."""
    return abs(count - n * p) <= sds * np.sqrt(n * p * (1 - p))


def test_without_unable_debtors_or_performance_nothing_changes():
    """The module in the kernel with every share 0 draws what it draws and changes nothing:
    every other column and the scores are bit-identical to the run without it."""
    without = simulate(_judged())
    zero = simulate(_judged({"unable_share": 0.0, "performance_share": 0.0}))
    table = daily_table(zero)
    new = ["judgments_performed", "judgments_performed_anyway", "listed_unable",
           "delisted_unable", "left_by_performance", "left_by_unable_delisting"]
    assert all(table[c].to_numpy().sum() == 0 for c in new)
    assert table.drop_columns(new).equals(daily_table(without))
    assert (zero.final_score == without.final_score).all()
    assert build_ledger(zero, None)["totals"]["judgments_performed"] == 0


def test_every_unwilling_debtor_performs_exactly_after_the_delay():
    """Performance 1 and anyway 1: each record of day d is removed on day d + delay, as
    repaired, and none is performed under pressure (all would have paid anyway)."""
    result = simulate(_judged({"performance_share": 1.0, "anyway_share": 1.0,
                               "delay_days": DELAY}))
    recorded, performed, anyway, repaired = _flows(
        result, "debt_recorded", "judgments_performed", "judgments_performed_anyway",
        "records_repaired")
    assert recorded.sum() > 1000
    assert np.array_equal(performed[DELAY:], recorded[:len(recorded) - DELAY])
    assert performed[:DELAY].sum() == 0
    assert np.array_equal(anyway, performed) and np.array_equal(repaired, performed)
    totals = build_ledger(result, None)["totals"]
    assert totals["judgments_performed"] == performed.sum()
    assert totals["judgments_performed_under_pressure"] == 0


def test_shares_of_the_unable_the_performed_and_the_anyway_are_binomial():
    """Each record draws its debtor's ability (U(0,1) < unable), then one u for performance
    (u < performance) and anyway (u < anyway), independently per record: listed_unable is
    Binomial(records, unable); of the records old enough to be removed by the horizon, the
    performed are Binomial(n, (1 - unable) performance); the anyway among the performed are
    Binomial(performed, anyway / performance); the delisted unable Binomial(n', unable x
    delist).  Five standard deviations bound each."""
    unable, performance, anyway, delist, delist_delay = 0.3, 0.5, 0.2, 0.6, 20
    result = simulate(_judged({"unable_share": unable, "performance_share": performance,
                               "anyway_share": anyway, "delay_days": DELAY,
                               "delist_unable_share": delist,
                               "delist_unable_delay_days": delist_delay}))
    recorded, listed_unable, performed, performed_anyway, delisted = _flows(
        result, "debt_recorded", "listed_unable", "judgments_performed",
        "judgments_performed_anyway", "delisted_unable")
    n = int(recorded.sum())
    assert n > 1000
    assert _within_sd(listed_unable.sum(), n, unable)
    old_enough = int(recorded[:len(recorded) - DELAY].sum())
    assert _within_sd(performed.sum(), old_enough, (1 - unable) * performance)
    assert _within_sd(performed_anyway.sum(), performed.sum(), anyway / performance)
    old_enough = int(recorded[:len(recorded) - delist_delay].sum())
    assert _within_sd(delisted.sum(), old_enough, unable * delist)
    # a delisting is counted as such, not as an expiry
    assert daily_table(result)["records_expired"].to_numpy().sum() == 0
    ledger = build_ledger(result, None)
    assert ledger["totals"]["judgments_performed_under_pressure"] == (
        performed.sum() - performed_anyway.sum())
    assert ledger["quantities"]["judgments_performed"]["side"] == "benefit"
    assert ledger["quantities"]["wrongly_listed_unable"]["side"] == "harm"


def test_delisting_every_unable_debtor_ends_their_listing_after_the_delay():
    """All unable, all delisted after 20 days: each record of day d is removed on day d + 20,
    and with nothing else listing them nobody stays listed longer than the delay."""
    result = simulate(_judged({"unable_share": 1.0, "delist_unable_share": 1.0,
                               "delist_unable_delay_days": 20}))
    recorded, delisted, unable = _flows(result, "debt_recorded", "delisted_unable",
                                        "listed_unable")
    assert np.array_equal(unable, recorded)
    assert np.array_equal(delisted[20:], recorded[:len(recorded) - 20])
    ledger = build_ledger(result, None)
    assert ledger["totals"]["wrongly_listed_unable"] == ledger["totals"]["sanctioned"]
    assert ledger["totals"]["judgments_performed"] == 0
    # each record listed 20 days, or to the horizon (day DAYS) if made in the last 20 days
    days = np.arange(len(recorded))
    assert ledger["totals"]["days_listed_unable"] == int(
        (recorded * np.minimum(20, DAYS + 1 - days)).sum())


def test_paired_with_the_run_without_delisting_the_days_listed_unable_fall():
    """Delisting every unable debtor after 20 days, against the same world without it: the
    paired difference of days listed unable is exactly the days cut short."""
    never = _judged({"unable_share": 1.0})
    delisted = _judged({"unable_share": 1.0, "delist_unable_share": 1.0,
                        "delist_unable_delay_days": 20})
    ledger = build_ledger(simulate(delisted, counterfactual=never), "never")
    (recorded,) = _flows(simulate(never), "debt_recorded")
    days = np.arange(len(recorded))
    cut = (recorded * np.maximum(DAYS + 1 - days - 20, 0)).sum()
    assert ledger["totals"]["days_listed_unable"] == -int(cut) < 0
    assert ledger["quantities"]["days_listed_unable"]["measure"] == "paired difference"


def test_the_unable_share_by_income_level_is_who_is_wrongly_listed():
    """Every low-income debtor unable to pay, no high-income one: by income level, every listed
    low-income citizen is wrongly listed as unable and no high-income one is; the levels add
    up to the totals."""
    s = _judged({"unable_share_by_income": {"low": 1.0, "high": 0.0}},
                population__income_levels=INCOMES)
    ledger = build_ledger(simulate(s), None)
    low, high = ledger["by_income"]["low"]["quantities"], ledger["by_income"]["high"]["quantities"]
    assert low["wrongly_listed_unable"]["value"] == low["sanctioned"]["value"] > 100
    assert high["wrongly_listed_unable"]["value"] == 0 < high["sanctioned"]["value"]
    assert ledger["totals"]["wrongly_listed_unable"] == low["sanctioned"]["value"]


def test_paired_with_no_system_the_performed_are_the_runs_levels():
    """The counterfactual without a list has no records to perform: the judgments performed
    are a level of the run, and those under pressure (the run's own draws say who would have
    paid anyway) a paired difference whose counterfactual side is 0, so the same count as
    the run's own."""
    s = _judged({"performance_share": 0.5, "anyway_share": 0.1})
    paired = build_ledger(simulate(s, counterfactual=no_system(s)), "none")
    assert paired["quantities"]["judgments_performed"]["measure"] == "level"
    entry = paired["quantities"]["judgments_performed_under_pressure"]
    assert entry["measure"] == "paired difference"
    assert 0 < paired["totals"]["judgments_performed_under_pressure"] < (
        paired["totals"]["judgments_performed"])
    alone = build_ledger(simulate(s), None)
    assert (alone["totals"]["judgments_performed_under_pressure"]
            == paired["totals"]["judgments_performed_under_pressure"])


def test_a_schedule_brings_in_the_delisting_of_the_unable():
    """The SPC's 2026 move as a schedule: records made before the date are never delisted,
    records made from it are (all of them, with share 1), after the delay."""
    s = _judged({"unable_share": 1.0, "delist_unable_share": 0.0,
                 "delist_unable_delay_days": 10},
                run__days=200, run__start="2026-01-01", population__size=10_000,
                schedule=[{"date": "2026-04-11", "set": {
                    "scheme.judgments.delist_unable_share": 1.0}}])
    recorded, delisted = _flows(simulate(s), "debt_recorded", "delisted_unable")
    change = 101  # 2026-04-11 is day 101 (2026-01-01 is day 1)
    assert delisted[:change + 10].sum() == 0
    assert np.array_equal(delisted[change + 10:], recorded[change:len(recorded) - 10])
    assert delisted.sum() > 0


def test_every_fixed_term_listing_ends_exactly_after_its_term_as_an_expiry():
    """Fixed term share 1, 50 days, nobody performing: each record of day d is removed on day
    d + 50 as an expiry (the listing's term ended), and an exit of cause expiry."""
    result = simulate(_judged({"fixed_term_share": 1.0, "fixed_term_days": 50}))
    recorded, expired = _flows(result, "debt_recorded", "records_expired")
    assert recorded.sum() > 1000
    assert expired[:50].sum() == 0
    assert np.array_equal(expired[50:], recorded[:len(recorded) - 50])
    assert _flows(result, "left_by_expiry")[0].sum() > 0


def test_paying_before_the_term_ends_the_listing_first():
    """Every unwilling debtor pays after 60 days, every listing has a term of 200: the
    payment comes first, so no record expires and every record old enough is performed."""
    result = simulate(_judged({"performance_share": 1.0, "delay_days": DELAY,
                               "fixed_term_share": 1.0, "fixed_term_days": 200}))
    recorded, performed, expired = _flows(result, "debt_recorded", "judgments_performed",
                                          "records_expired")
    assert expired.sum() == 0
    assert np.array_equal(performed[DELAY:], recorded[:len(recorded) - DELAY])


def test_the_fixed_term_share_is_binomial_and_independent_of_the_debtors_ability():
    """Each record draws its term (U(0,1) < share) apart from its debtor's ability: of the
    records old enough to have ended, the expired are Binomial(n, share) and the unable
    among all records Binomial(records, unable).  Five standard deviations bound each."""
    share, unable, term = 0.3, 0.4, 40
    result = simulate(_judged({"fixed_term_share": share, "fixed_term_days": term,
                               "unable_share": unable}))
    recorded, expired, listed_unable = _flows(result, "debt_recorded", "records_expired",
                                              "listed_unable")
    old_enough = int(recorded[:len(recorded) - term].sum())
    assert old_enough > 1000
    assert _within_sd(expired.sum(), old_enough, share)
    assert _within_sd(listed_unable.sum(), int(recorded.sum()), unable)


def test_a_schedule_brings_in_the_fixed_term_for_the_listings_made_from_its_day():
    """The 2017 revision as a schedule: listings made before the date keep no term, those
    made from it end after theirs; the listings of a day before it never expire."""
    s = _judged({"fixed_term_share": 0.0, "fixed_term_days": 30},
                run__days=200, run__start="2017-01-01", population__size=10_000,
                schedule=[{"date": "2017-05-01", "set": {
                    "scheme.judgments.fixed_term_share": 1.0}}])
    recorded, expired = _flows(simulate(s), "debt_recorded", "records_expired")
    change = 121  # 2017-05-01 is day 121 (2017-01-01 is day 1)
    assert expired[:change + 30].sum() == 0
    assert np.array_equal(expired[change + 30:], recorded[change:len(recorded) - 30])
    assert expired.sum() > 0


@pytest.mark.parametrize(("judgments", "changes", "message"), [
    ({"performance_share": 0.2, "anyway_share": 0.3}, {},
     "anyway_share 0.3 is above performance_share 0.2"),
    ({"behaviours": ["jaywalk"]}, {},
     "scheme.judgments.behaviours[0]: 'jaywalk' does not list"),
    ({"behaviours": ["dbet"]}, {}, "scheme.judgments.behaviours[0]: unknown behaviour 'dbet'"),
    ({"unable_share_by_income": {"poor": 0.5}}, {},
     "scheme.judgments.unable_share_by_income.poor: unknown income level 'poor'"),
    ({}, {"scheme__blacklist_behaviours": [], "scheme__blacklist_below": 990},
     "scheme.judgments: no behaviour's records are judgments"),
    ({"delay_days": 0}, {}, "scheme.judgments.delay_days"),
    ({"fixed_term_share": 1.5}, {}, "scheme.judgments.fixed_term_share"),
    ({"fixed_term_days": 0}, {}, "scheme.judgments.fixed_term_days"),
])
def test_bad_judgments_are_refused_with_the_field_and_the_reason(judgments, changes, message):
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        scenario(**{"scheme__blacklist_behaviours": ["debt"], "scheme__blacklist_below": None,
                    "scheme__judgments": judgments, **changes})


def test_a_debtors_listing_ends_with_their_death():
    """With population turnover, an unable debtor's days listed run from each default to the
    day they die (the day their listing ends), not to the horizon.  Every listed citizen's
    trace gives its defaults and its death day, so each citizen's count is exact."""
    s = _judged({"unable_share": 1.0}, population__size=3000,
                population__turnover={"deaths_per_1000": {"adult": 400, "elder": 400}},
                behaviours__debt__daily_rate=0.002, measures=None)
    result = simulate(s)
    tracer = Tracer(s)
    flows = FlowLayout.of(s, tracer.layout)
    unable_col, death_col = flows.flow("listed_unable"), flows.flow("deaths")
    q = result.kernel_layout.quantities.index("days_listed_unable")
    days = np.arange(DAYS + 1)
    checked = died = 0
    for citizen in range(s.population.size):
        trace = tracer.trace(citizen)
        unable = trace.flows[:, unable_col]
        if not unable.any():
            continue
        deaths = np.flatnonzero(trace.flows[:, death_col])
        end = deaths[0] if len(deaths) else DAYS + 1
        died += len(deaths) > 0
        assert trace.ledger[q] == int((unable * (end - days)).sum()), citizen
        checked += 1
    # about 1 - exp(-0.4 * 400 / 365) = 35% of the listed die within the run
    assert checked > 500 and died > 100
