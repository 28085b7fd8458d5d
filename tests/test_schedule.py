"""Calendar dates and dated schedules: exact counts either side of a change and across a
ramp, a schedule that changes nothing changes nothing, and a policy from a date leaves
everything before it bit-identical."""

from __future__ import annotations

import copy
import datetime

import numpy as np
import pyarrow as pa
import pytest

from scsim.engine.sim import simulate
from scsim.results import daily_table
from scsim.scenario import load_scenario
from scsim.scenario.load import validate_scenario
from scsim.scenario.pairing import no_system, world_differences
from scsim.scenario.schedule import periods

from conftest import R0, ROOT

N = 100_000
DAYS = 120
CHANGE = 61  # day of 2018-03-02
START = datetime.date(2018, 1, 1)


def _world(schedule: list[dict], **run) -> dict:
    return {
        "name": "schedule test",
        "run": {"days": DAYS, "seed": 3, "start": START.isoformat(), **run},
        "population": {"size": N},
        "behaviours": {"a": {"daily_rate": 0.01}},
        "channels": {"cam": {"records": ["a"], "detection": 0.5,
                             "false_attribution": {"behaviour": "a", "daily_rate": 1e-4}}},
        "scheme": {"start_score": 100, "min_score": 0, "max_score": 200, "points": {"a": -10},
                   "blacklist_below": 80},
        "schedule": schedule,
    }


def _run(raw: dict, counterfactual: dict | None = None):
    s = validate_scenario(copy.deepcopy(raw)).scenario
    cf = validate_scenario(copy.deepcopy(counterfactual)).scenario if counterfactual else None
    return s, simulate(s, counterfactual=cf)


def _column(result, name: str) -> np.ndarray:
    """A daily column summed over groups, indexed by day - 1."""
    return daily_table(result).group_by("day").aggregate([(name, "sum")]).sort_by("day")\
        .column(f"{name}_sum").to_numpy()


def _within(observed: float, expected: float, variance: float, sd: float = 5.0) -> None:
    assert abs(observed - expected) <= sd * variance**0.5, (observed, expected, variance)


def test_counts_either_side_of_a_rate_change_are_exact():
    """Committed events are Binomial(N x days, p) in each period (no adaptation, deterrence or
    penalty here), so each period's total is within 5 sd of N x days x p, sd =
    sqrt(N days p (1 - p)); recorded ones are Binomial(committed, detection) given the
    committed.  If the gaps did not restart at the change, the candidate drawn under the old
    rate would carry over (a mean gap of 100 days), and the second period would see about
    half the new rate's surplus: some 300 sd off."""
    _, result = _run(_world([{"date": "2018-03-02", "set": {"behaviours.a.daily_rate": 0.02,
                                                            "channels.cam.detection": 0.8}}]))
    committed = _column(result, "a_committed")
    recorded = _column(result, "a_recorded")
    before, after = slice(0, CHANGE - 1), slice(CHANGE - 1, DAYS)
    for part, p, det in ((before, 0.01, 0.5), (after, 0.02, 0.8)):
        days = part.stop - part.start
        _within(committed[part].sum(), N * days * p, N * days * p * (1 - p))
        _within(recorded[part].sum(), committed[part].sum() * det,
                committed[part].sum() * det * (1 - det))
    # the change is on its day, not a day off: the daily mean jumps between days 60 and 61
    assert committed[CHANGE - 11:CHANGE - 1].mean() < 1.2 * N * 0.01
    assert committed[CHANGE - 1:CHANGE + 9].mean() > 1.8 * N * 0.01


def test_false_attribution_restarts_at_its_change():
    """False records: Binomial(N days q) per period, for a rate raised 10-fold."""
    _, result = _run(_world([{"date": "2018-03-02",
                              "set": {"channels.cam.false_attribution.daily_rate": 1e-3}}]))
    false = _column(result, "false_records")
    for part, q in ((slice(0, CHANGE - 1), 1e-4), (slice(CHANGE - 1, DAYS), 1e-3)):
        days = part.stop - part.start
        _within(false[part].sum(), N * days * q, N * days * q)


def test_a_ramp_is_the_step_function_it_lists():
    """Detection ramps 0.2 -> 0.8 from day 11 to day 101 in 30-day steps: the periods are
    the listed steps, and recorded events given committed are Binomial per day with that
    day's detection; the total is within 5 sd of sum_d committed_d det_d."""
    raw = _world([{"from": "2018-01-11", "to": "2018-04-11", "step_days": 30,
                   "ramp": {"channels.cam.detection": 0.8}}],
                 )
    raw["channels"]["cam"]["detection"] = 0.2
    s, result = _run(raw)
    cut = [(p.first_day, p.scenario.channels["cam"].detection) for p in periods(s)]
    assert cut == [(1, 0.2), (41, pytest.approx(0.4)), (71, pytest.approx(0.6)),
                   (101, pytest.approx(0.8))]
    detection = np.zeros(DAYS)
    for first, value in cut:
        detection[first - 1:] = value
    committed = _column(result, "a_committed")
    recorded = _column(result, "a_recorded")
    _within(recorded.sum(), (committed * detection).sum(),
            (committed * detection * (1 - detection)).sum())
    # and day by day each step shows: the recorded share in each period is its detection
    for (first, value), (last, _) in zip(cut, [*cut[1:], (DAYS + 1, None)], strict=True):
        part = slice(first - 1, last - 1)
        _within(recorded[part].sum(), committed[part].sum() * value,
                committed[part].sum() * value * (1 - value))


def _without_date(table: pa.Table) -> pa.Table:
    return table.drop(["date"]) if "date" in table.column_names else table


def test_a_schedule_that_sets_what_is_changes_nothing():
    """Bit-identical daily tables: no schedule, and a schedule of the values already in
    force (it cuts no period, so no gap restarts); and a dated run's numbers equal the
    undated run's."""
    _, plain = _run(_world([]))
    same = [{"date": "2018-03-02", "set": {"behaviours.a.daily_rate": 0.01,
                                           "channels.cam.detection": 0.5,
                                           "scheme.blacklist_below": 80}}]
    s, noop = _run(_world(same))
    assert len(periods(s)) == 1
    assert daily_table(noop).equals(daily_table(plain))
    undated = _world([])
    del undated["run"]["start"]
    _, numbered = _run(undated)
    assert _without_date(daily_table(plain)).equals(daily_table(numbered))
    assert daily_table(numbered).column_names[:2] == ["day", "group"]
    dates = daily_table(plain).column("date").to_pylist()
    assert dates[0] == START and dates[-1] == START + datetime.timedelta(days=DAYS - 1)


@pytest.mark.parametrize("policy", [
    {"channels.cam.detection": 0.9},
    {"channels.cam.false_attribution.daily_rate": 1e-3},
    {"scheme.blacklist_below": 95},
    {"scheme.points.a": -30},
])
def test_a_policy_from_a_date_leaves_every_day_before_it_identical(policy):
    """Every daily row before the change is bit-identical to the run without the policy;
    on and after it the policy acts."""
    _, without = _run(_world([]))
    _, with_policy = _run(_world([{"date": "2018-03-02", "set": policy}]))
    a, b = daily_table(without), daily_table(with_policy)
    rows = (CHANGE - 1) * 1  # one group
    assert a.slice(0, rows).equals(b.slice(0, rows))
    assert not a.slice(rows).equals(b.slice(rows))


def test_a_threshold_change_lists_without_any_event():
    """Raising the threshold from 80 to 100 lists, on that very day, every citizen whose score
    was in [80, 100) the day before (no event needed), plus those pushed below 100 that day
    by a record; with the histogram of the day before that is an exact count, checked here
    on a day on which no event can happen (behaviour and false attribution stop that day)."""
    stop = {"scheme.blacklist_below": 100, "behaviours.a.daily_rate": 0.0,
            "channels.cam.false_attribution.daily_rate": 0.0}
    _, result = _run(_world([{"date": "2018-03-02", "set": stop}]))
    hist = result.score_histogram  # (day, group, bin) levels, bins of one point
    between = hist[CHANGE - 1, 0, 80:100].sum()
    entered = _column(result, "entered_blacklist")
    assert between > 0
    assert entered[CHANGE - 1] == between
    assert _column(result, "blacklisted")[CHANGE - 1] == hist[CHANGE - 1, 0, :100].sum()


def test_pairs_share_the_world_schedule_and_differ_in_policy():
    """A counterfactual without the system keeps the world's scheduled changes and drops the
    system's; a counterfactual with another world schedule is refused."""
    raw = _world([{"date": "2018-03-02", "set": {"behaviours.a.daily_rate": 0.02,
                                                 "channels.cam.detection": 0.8}}])
    s = validate_scenario(copy.deepcopy(raw)).scenario
    none = no_system(s)
    assert [e.set for e in none.schedule] == [{"behaviours.a.daily_rate": 0.02}]
    assert world_differences(s, none) == []
    other = copy.deepcopy(raw)
    other["schedule"][0]["set"]["behaviours.a.daily_rate"] = 0.03
    assert [f for f, _ in world_differences(s, validate_scenario(other).scenario)] == [
        "schedule"]
    # paired with no system: both sides commit the same events (common random numbers)
    result = simulate(s, counterfactual=none)
    table = daily_table(result)
    assert table.column("a_committed").equals(table.column("counterfactual_offences_committed"))


def test_r0_with_a_start_date_keeps_its_numbers():
    plain = load_scenario(R0, {"population.size": 20_000}).scenario
    dated = load_scenario(R0, {"population.size": 20_000, "run.start": "2018-01-01"}).scenario
    a, b = daily_table(simulate(plain)), daily_table(simulate(dated))
    assert _without_date(b).equals(a)


@pytest.mark.parametrize("paired", [False, True])
def test_per_year_totals_add_up_to_the_whole_run(paired):
    """ledger.json's per-calendar-year totals are sums of daily counts, so over the years they
    add up exactly to the whole-run totals (an accounting identity) for every quantity they
    carry; counts of citizens are not split."""
    from scsim.ledger import build_ledger

    s = load_scenario(ROOT / "scenarios" / "demo.toml",
                      {"population.size": 20_000, "run.start": "2018-07-01"}).scenario
    cf = no_system(s) if paired else None
    ledger = build_ledger(simulate(s, counterfactual=cf), "none" if paired else None)
    years = ledger["by_year"]["years"]
    assert list(years) == ["2018", "2019"]
    assert [years[y]["days"] for y in years] == [184, s.run.days - 184]
    carried = set(years["2018"]["totals"])
    assert {"days_blacklisted", "false_records", "trips_denied"} <= carried
    assert "sanctioned" not in carried
    assert ("behaviours_prevented" in carried) == paired
    for name in carried:
        assert sum(years[y]["totals"][name] for y in years) == ledger["totals"][name], name


def test_a_life_story_has_the_run_s_dates_and_the_schedule():
    from scsim.engine.trace import Tracer
    from scsim.story import tell

    raw = _world([{"date": "2018-03-02", "set": {"channels.cam.detection": 0.8}}])
    s = validate_scenario(raw).scenario
    story = tell(Tracer(s).trace(7))
    assert (CHANGE, "2018-03-02",
            "the schedule changes channels.cam.detection 0.5 -> 0.8") in story.events
    assert all(date == (START + datetime.timedelta(days=day - 1)).isoformat()
               for day, date, _ in story.events)


def _burn_in_world(report_from: str | None, good_deeds: bool) -> dict:
    raw = _world([])
    raw["run"]["report_from"] = report_from
    if good_deeds:
        raw["behaviours"]["g"] = {"kind": "good_deed", "daily_rate": 0.01}
        raw["channels"]["cam"]["records"] = ["a", "g"]
        raw["scheme"]["points"]["g"] = 10
    return raw


def test_burn_in_reports_only_what_happens_from_its_date():
    """report_from: the daily tables are the same run's rows from that day on (bit-identical,
    the stock built up before included), and every ledger total that is a sum of days
    equals the reported days' sum."""
    from scsim.ledger import build_ledger

    _, whole = _run(_burn_in_world(None, good_deeds=True))
    _, burnt = _run(_burn_in_world("2018-03-02", good_deeds=True))
    full, reported = daily_table(whole), daily_table(burnt)
    assert reported.column("day").to_pylist()[0] == CHANGE
    assert reported.equals(full.slice(CHANGE - 1))
    assert reported.column("blacklisted").to_pylist()[0] > 0  # the stock at report_from
    ledger = build_ledger(burnt, None)
    assert ledger["reported_days"] == DAYS - CHANGE + 1
    assert ledger["totals"]["days_blacklisted"] == sum(reported.column("blacklisted")
                                                        .to_pylist())
    assert ledger["totals"]["false_records"] == sum(reported.column("false_records")
                                                     .to_pylist())
    # citizens ever listed in the reported days: at least the most listed on one day, at
    # most those listed on its first day plus every later entry; fewer than over the run
    listed = reported.column("blacklisted").to_numpy()
    entered = reported.column("entered_blacklist").to_numpy()
    sanctioned = ledger["totals"]["sanctioned"]
    assert listed.max() <= sanctioned <= listed[0] + entered[1:].sum()
    assert sanctioned < build_ledger(whole, None)["totals"]["sanctioned"]


def test_burn_in_counts_a_spell_once_across_its_date():
    """Scores that only fall: whoever is listed stays listed, so the citizens sanctioned in
    the reported days are exactly those listed on the last day, with or without burn-in."""
    from scsim.ledger import build_ledger

    _, whole = _run(_burn_in_world(None, good_deeds=False))
    _, burnt = _run(_burn_in_world("2018-03-02", good_deeds=False))
    last = daily_table(burnt).column("blacklisted").to_pylist()[-1]
    assert build_ledger(burnt, None)["totals"]["sanctioned"] == last
    assert build_ledger(whole, None)["totals"]["sanctioned"] == last


def test_burn_in_is_shared_by_a_paired_counterfactual():
    """Paired with no system, both sides burn in on the same draws: the reported rows of the
    pair are those of the whole pair from report_from on."""
    raw = _burn_in_world("2018-03-02", good_deeds=True)
    s = validate_scenario(copy.deepcopy(raw)).scenario
    whole_s = validate_scenario(_burn_in_world(None, good_deeds=True)).scenario
    paired = daily_table(simulate(s, counterfactual=no_system(s)))
    whole = daily_table(simulate(whole_s, counterfactual=no_system(whole_s)))
    assert paired.equals(whole.slice(CHANGE - 1))


def test_r0_with_a_schedule_counts_exactly_either_side_and_across_a_ramp():
    """R0 (every citizen an adult, no deterrence, jaywalking not adapted) with jaywalking
    doubled from day 182 and camera detection ramped 0.3 -> 0.9 over days 91-181 in 30-day
    steps (the minority's own detection, 0.6, stays).  Committed jaywalks: Binomial(N x days,
    p) per period (sd sqrt(N days p (1 - p))); recorded majority jaywalks given committed:
    Binomial with each day's detection, summed over days."""
    n = 50_000
    s = load_scenario(R0, {"population.size": n, "run.start": "2018-01-01", "schedule": [
        {"from": "2018-04-01", "to": "2018-06-30", "ramp": {
            "channels.traffic_cameras.detection": 0.9}},
        {"date": "2018-07-01", "set": {"behaviours.jaywalk.daily_rate": 0.004}}]}).scenario
    daily = daily_table(simulate(s)).to_pandas()
    committed = daily.groupby("day").jaywalk_committed.sum().to_numpy()
    for days, p in ((slice(0, 181), 0.002), (slice(181, 365), 0.004)):
        trials = n * (days.stop - days.start)
        _within(committed[days].sum(), trials * p, trials * p * (1 - p))
    majority = daily[daily.group == "majority"]
    detection = np.full(365, 0.3)
    for period in periods(s):
        detection[period.first_day - 1:] = period.scenario.channels[
            "traffic_cameras"].detection
    assert sorted(set(np.round(detection, 6))) == [0.3, 0.5, 0.7, 0.9]  # days 121, 151, 181
    c = majority.jaywalk_committed.to_numpy()
    _within(majority.jaywalk_recorded.sum(), (c * detection).sum(),
            (c * detection * (1 - detection)).sum())
