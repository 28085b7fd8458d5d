"""Deterrence: against limiting or exactly known cases."""

from __future__ import annotations

import numpy as np
import pytest

from scsim import numbers
from scsim.cli.running import weighing_lines
from scsim.engine.sim import simulate
from scsim.kernels.layout import (
    LEVEL_BLACKLISTED,
    Q_BEHAVIOURS_PREVENTED,
    Q_SPEECH_LOST,
)
from scsim.ledger import build_ledger
from scsim.report import headline_html
from scsim.results import daily_table
from scsim.scenario.load import ScenarioError
from scsim.scenario.pairing import no_system

from mechanism_base import scenario


def test_deterrence_prevents_offences_against_no_system():
    s = scenario(deterrence={"decay_days": 90, "own_record": 2.0, "offence_sensitivity": 1.0,
                             "speech_sensitivity": 1.0})
    result = simulate(s, counterfactual=no_system(s))
    assert result.ledger_sum[:, Q_BEHAVIOURS_PREVENTED].sum() > 0
    assert result.ledger_sum[:, Q_SPEECH_LOST].sum() > 0


def _committed(result, behaviour: str) -> int:
    b = list(result.scenario.behaviours).index(behaviour)
    return int(result.flows[:, :, result.flow_layout.committed(b)].sum())


def test_awareness_thins_each_behaviour_by_its_chance_of_being_recorded():
    """Known surveillance alone: a candidate jaywalk (cameras, detection 0.5) is committed with
    its rate times exp(-s * a * 0.5), a debt (courts, detection 1) with exp(-s * a).  Under
    common random numbers each offence of the run without deterrence is kept with that factor
    f, so the run's count is Binomial(n, f) given the other's n: within 5 sd, sqrt(n f (1-f))."""
    s_off = scenario()
    awareness, sensitivity = 2.0, 0.3
    s_on = scenario(deterrence={"decay_days": 90, "awareness": awareness,
                                "offence_sensitivity": sensitivity})
    off, on = simulate(s_off), simulate(s_on)
    for behaviour, recorded in (("jaywalk", 0.5), ("debt", 1.0)):
        n = _committed(off, behaviour)
        f = np.exp(-sensitivity * awareness * recorded)
        assert abs(_committed(on, behaviour) - f * n) < 5 * np.sqrt(n * f * (1 - f)), behaviour
    # speech has no sensitivity here: untouched
    assert _committed(on, "speech") == _committed(off, "speech")


def test_benefit_is_non_zero_with_general_deterrence_and_zero_without():
    """No offence of one's own need be recorded for general deterrence to prevent some; with
    no deterrence section the run's offences are exactly the counterfactual's."""
    deterred = scenario(deterrence={"decay_days": 90, "awareness": 1.0,
                                    "offence_sensitivity": 0.2, "speech_sensitivity": 0.5})
    assert simulate(deterred, counterfactual=no_system(deterred)).ledger_sum[
        :, Q_BEHAVIOURS_PREVENTED].sum() > 0
    plain = scenario()
    result = simulate(plain, counterfactual=no_system(plain))
    assert result.ledger_sum[:, Q_BEHAVIOURS_PREVENTED].sum() == 0
    assert result.ledger_sum[:, Q_SPEECH_LOST].sum() == 0


NEIGHBOURHOODS = {"types": [{"adults": 2, "children": 1, "share": 0.5},
                            {"adults": 1, "share": 0.5}], "neighbourhood_size": 16}


def test_shaming_without_anyone_listed_deters_nobody():
    """Nobody can be listed (listed below 0, the lowest score): shaming, however
    strong, changes nothing, bit for bit."""
    def run(shaming: float):
        s = scenario(population__households=NEIGHBOURHOODS, scheme__blacklist_below=0,
                     deterrence={"decay_days": 90, "shaming": shaming,
                                 "offence_sensitivity": 1.0, "speech_sensitivity": 1.0})
        result = simulate(s, counterfactual=no_system(s))
        return result, daily_table(result)

    (with_result, with_table), (without_result, without_table) = run(5.0), run(0.0)
    assert with_result.levels[:, :, LEVEL_BLACKLISTED].sum() == 0  # (nobody listed)
    assert with_table.equals(without_table)
    assert np.array_equal(with_result.ledger_sum, without_result.ledger_sum)


def test_shaming_deters_where_neighbours_are_listed():
    """With listings (a debt lists while its record stands), seeing listed neighbours deters:
    fewer offences than the same run without shaming, and a benefit against no system."""
    def run(shaming: float):
        s = scenario(population__households=NEIGHBOURHOODS,
                     deterrence={"decay_days": 90, "shaming": shaming,
                                 "offence_sensitivity": 1.0})
        return simulate(s, counterfactual=no_system(s))

    shamed, plain = run(2.0), run(0.0)
    assert shamed.levels[:, :, LEVEL_BLACKLISTED].sum() > 0
    assert _committed(shamed, "jaywalk") < _committed(plain, "jaywalk")
    assert (shamed.ledger_sum[:, Q_BEHAVIOURS_PREVENTED].sum()
            > plain.ledger_sum[:, Q_BEHAVIOURS_PREVENTED].sum())


def test_shaming_needs_neighbourhoods():
    with pytest.raises(ScenarioError) as raised:
        scenario(deterrence={"decay_days": 90, "shaming": 1.0})
    assert "deterrence.shaming" in str(raised.value)
    assert "population.households" in str(raised.value)


def test_the_ledger_weighs_each_benefit_against_every_harm():
    """ledger.json's weighing: the offences prevented (against the counterfactual named),
    and each harm's total per offence prevented, exactly the ratio of the totals; the report
    leads its headline with that table."""
    s = scenario(deterrence={"decay_days": 90, "awareness": 1.0, "offence_sensitivity": 0.2,
                             "speech_sensitivity": 0.5})
    ledger = build_ledger(simulate(s, counterfactual=no_system(s)), "none")
    weighing = ledger["weighing"]
    prevented = weighing["benefits"]["behaviours_prevented"]
    assert prevented["value"] == ledger["totals"]["behaviours_prevented"] > 0
    assert prevented["measure"] == "paired difference" and "'none'" in prevented["against"]
    assert "counterfactual_sanctioned" not in weighing["harms"]
    for name in ("sanctioned", "speech_lost", "trips_denied", "false_records"):
        harm = weighing["harms"][name]
        assert harm["per_unit_of"]["behaviours_prevented"] == (
            ledger["totals"][name] / prevented["value"])
    page = headline_html(ledger)
    assert page.index('id="weighing"') < page.index('id="headline"')
    assert 'data-harm="speech_lost"' in page


def test_a_benefit_of_zero_is_weighed_against_nothing():
    plain = scenario()
    ledger = build_ledger(simulate(plain, counterfactual=no_system(plain)), "none")
    prevented = ledger["weighing"]["benefits"]["behaviours_prevented"]
    assert prevented["value"] == 0 and prevented["status"].startswith("no benefit")
    assert ledger["weighing"]["harms"]["sanctioned"]["per_unit_of"]["behaviours_prevented"] is None
    unpaired = build_ledger(simulate(plain), None)
    assert "behaviours_prevented" not in unpaired["weighing"]["benefits"]
    assert "nothing is weighed" in headline_html(unpaired)


def test_against_another_scenario_only_figures_of_one_measure_are_divided():
    """Paired with a scenario other than none, a paired difference is a change and a level the
    run's own: speech lost (a difference) is weighed per offence prevented (a difference),
    the citizens sanctioned (a level) are not."""
    weaker = scenario(deterrence={"decay_days": 90, "awareness": 0.5, "offence_sensitivity": 0.2,
                                  "speech_sensitivity": 0.5})
    stronger = scenario(deterrence={"decay_days": 90, "awareness": 2.0,
                                    "offence_sensitivity": 0.2, "speech_sensitivity": 0.5})
    ledger = build_ledger(simulate(stronger, counterfactual=weaker), "weaker.toml")
    harms = ledger["weighing"]["harms"]
    prevented = ledger["weighing"]["benefits"]["behaviours_prevented"]["value"]
    assert prevented > 0
    assert harms["speech_lost"]["per_unit_of"]["behaviours_prevented"] == (
        ledger["totals"]["speech_lost"] / prevented)
    assert harms["sanctioned"]["per_unit_of"]["behaviours_prevented"] is None
    assert harms["sanctioned"]["not_comparable"] == ["behaviours_prevented"]
    assert "not comparable" in headline_html(ledger)


def test_the_command_line_prints_the_weighing_one_line_per_benefit():
    s = scenario(deterrence={"decay_days": 90, "awareness": 1.0, "offence_sensitivity": 0.2,
                             "speech_sensitivity": 0.5})
    ledger = build_ledger(simulate(s, counterfactual=no_system(s)), "none")
    lines = weighing_lines(ledger)
    per_sanctioned = ledger["weighing"]["harms"]["sanctioned"]["per_unit_of"][
        "behaviours_prevented"]
    assert lines[0].startswith("per behaviours prevented (")
    low, high = ledger["weighing"]["harms"]["sanctioned"]["per_unit_of_ci95"][
        "behaviours_prevented"]
    assert (f"{numbers.rate(per_sanctioned)} ({numbers.rate(low)} to {numbers.rate(high)}) "
            "ever blacklisted") in lines[0]
    assert "'none'" in lines[-1]
    plain = scenario()
    assert weighing_lines(build_ledger(simulate(plain, counterfactual=no_system(plain)),
                                       "none")) == []


def test_each_ratio_carries_an_interval_and_a_benefit_holding_0_divides_nothing():
    """The weighing's intervals: a ratio's 95% interval comes from the two totals' own
    (log scale, independent: se(log r)^2 = se_h^2 + se_b^2, each se read off its interval as
    (hi - lo) / (2 x 1.96 x value)) and holds the ratio; a benefit whose own interval holds 0
    is not known to be one, so no harm is divided by it."""
    import math

    from scsim.ledger import CORE, weighing

    sanctioned = next(q for q in CORE if q.name == "sanctioned")
    prevented = next(q for q in CORE if q.name == "behaviours_prevented")
    n = 1_000_000  # (intervals per 100,000 citizens: counts are ten times them)
    overall = {"sanctioned": {"value": 1000, "ci95_per_100k": [90.0, 110.0]},
               "behaviours_prevented": {"value": 100, "ci95_per_100k": [8.0, 12.0]}}
    w = weighing((sanctioned, prevented), overall, True, "none", n)
    assert w["benefits"]["behaviours_prevented"]["ci95"] == pytest.approx([80.0, 120.0])
    harm = w["harms"]["sanctioned"]
    ratio, (lo, hi) = (harm["per_unit_of"]["behaviours_prevented"],
                       harm["per_unit_of_ci95"]["behaviours_prevented"])
    half = 1.959963984540054 * math.hypot(200 / (2 * 1.959963984540054 * 1000),
                                          40 / (2 * 1.959963984540054 * 100))
    assert ratio == 10.0 and lo < ratio < hi
    assert (lo, hi) == pytest.approx((10 * math.exp(-half), 10 * math.exp(half)))
    overall["behaviours_prevented"] = {"value": 3, "ci95_per_100k": [-0.2, 0.8]}
    w = weighing((sanctioned, prevented), overall, True, "none", n)
    assert w["harms"]["sanctioned"]["per_unit_of"]["behaviours_prevented"] is None
    assert "holds 0" in w["benefits"]["behaviours_prevented"]["status"]
    assert "holds 0" in weighing_lines({"weighing": w})[0]
