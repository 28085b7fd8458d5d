"""Detention in camps for flags of lawful activity: limiting and exactly known cases."""

from __future__ import annotations

import numpy as np
import pytest

from scsim.engine.sim import simulate
from scsim.kernels.layout import Q_BEHAVIOURS_PREVENTED
from scsim.results import daily_table
from scsim.scenario.load import ScenarioError
from scsim.scenario.pairing import no_system

from mechanism_base import scenario

FLAGGED = {  # a lawful activity the platform records (flags); it scores nothing
    "behaviours__prayer": {"kind": "lawful", "daily_rate": 0.003},
    "channels__platform": {"records": ["prayer"], "detection": 0.5},
}


def _camps(**values) -> dict:
    return {**FLAGGED, "measures__camps": {"behaviours": ["prayer"], "term_days": 60,
                                           **values}}


def _column(table, name: str) -> np.ndarray:
    groups = len(set(table.column("group").to_pylist()))
    return table.column(name).to_numpy().reshape(-1, groups)


def test_a_conversion_of_zero_changes_nothing():
    plain = daily_table(simulate(scenario(**FLAGGED)))
    zero = daily_table(simulate(scenario(**_camps(conversion=0.0))))
    assert zero.select(plain.column_names).equals(plain)
    assert _column(zero, "camp_admissions").sum() == 0


def test_every_flag_sends_to_a_camp_when_certain():
    """Conversion 1, no delay: each flag of a citizen not held is an admission that day (a
    held citizen commits nothing, so is never flagged)."""
    table = daily_table(simulate(scenario(**_camps(conversion=1.0))))
    flags = _column(table, "prayer_recorded")
    assert flags.sum() > 100
    assert (_column(table, "camp_admissions") == flags).all()


def test_a_false_match_of_the_flagged_activity_is_a_flag_too():
    """Conversion 1, no delay, a false-attribution stream claiming the flagged activity: each
    false record that counts sends its citizen that day (one already held that day is
    attributed none), and the admissions are the true flags plus these."""
    platform = {**FLAGGED["channels__platform"],
                "false_attribution": {"behaviour": "prayer", "daily_rate": 0.002}}
    table = daily_table(simulate(scenario(**{**_camps(conversion=1.0),
                                             "channels__platform": platform})))
    false_flags = _column(table, "false_records_by_platform")
    assert false_flags.sum() > 50
    assert (_column(table, "camp_admissions_for_false_flags") == false_flags).all()
    assert (_column(table, "camp_admissions")
            == _column(table, "prayer_recorded") + false_flags).all()


def test_the_held_count_is_admissions_minus_releases_and_not_a_listing():
    term = 60
    table = daily_table(simulate(scenario(**_camps(conversion=0.6, delay_days=7),
                                          scheme__blacklist_below=None, measures__travel_ban=None)))
    held = _column(table, "held_in_camps")
    admitted, released = _column(table, "camp_admissions"), _column(table, "camp_releases")
    assert admitted.sum() > 100
    previous = np.vstack([np.zeros((1, held.shape[1]), dtype=held.dtype), held[:-1]])
    assert (held == previous + admitted - released).all()
    assert (released[term:] == admitted[:-term]).all() and released[:term].sum() == 0
    assert _column(table, "camp_admissions")[:7].sum() == 0
    assert _column(table, "blacklisted").sum() == 0  # a camp is not the blacklist


def test_suppressed_lawful_activity_is_a_harm_not_an_offence_prevented():
    """Against the world without the system: the lawful activity the held could not do is
    counted, exactly the counterfactual's minus the run's; no offence is in the scenario's
    world but jaywalking and debt, whose prevention is counted apart."""
    s = scenario(**_camps(conversion=1.0), deterrence=None)
    result = simulate(s, counterfactual=no_system(s))
    table = daily_table(result)
    column = result.kernel_layout.quantities.index("lawful_activity_suppressed")
    suppressed = result.ledger_sum[:, column].sum()
    run = _column(table, "prayer_committed").sum()
    cf = simulate(no_system(s))
    assert suppressed == _column(daily_table(cf), "prayer_committed").sum() - run
    assert suppressed > 0
    prevented = result.ledger_sum[:, Q_BEHAVIOURS_PREVENTED].sum()
    assert prevented == (_column(daily_table(cf), "offences_committed").sum()
                         - _column(table, "offences_committed").sum())


def test_the_behaviours_must_be_lawful_and_exist():
    with pytest.raises(ScenarioError, match=r"unknown behaviour 'prayr'"):
        scenario(**_camps(conversion=0.5, behaviours=["prayr"]))
    with pytest.raises(ScenarioError, match=r"'jaywalk' is not of kind \"lawful\""):
        scenario(**_camps(conversion=0.5, behaviours=["jaywalk"]))
