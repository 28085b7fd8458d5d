"""Every mechanism module: in a kernel for a pair, it does nothing to the side that lacks it.

A run and its counterfactual share one kernel, which holds the modules either
side uses (the universal kernel holds them all); the side without a module
gets parameters that make every hook a no-op.  So a run simulated alone in a
kernel without the module and the same run paired with a counterfactual that
uses one more module must be bit-identical; and in the universal kernel,
every module at those values must be the module absent.  The one
deliberate exception is the employment penalty: a pair draws its common
candidate events at the highest rate either side can reach, so a penalty on
one side changes the other's candidates (``engine/tables.py``).
"""

from __future__ import annotations

import pytest

from scsim.engine.sim import simulate
from scsim.mechanisms import MECHANISMS
from scsim.results import daily_table

from mechanism_base import scenario

WORLD = {  # what the world needs for a module to act (both sides of the pair have it)
    "population__size": 4000,
    "population__households": {"types": [{"adults": 2, "children": 1, "share": 1.0}],
                               "neighbourhood_size": 12, "contacts_per_citizen": 2},
    "scheme__grades": [{"name": "a", "min_score": 1000}, {"name": "b", "min_score": 0}],
    "measures__travel_ban": None,
    "behaviours__prayer": {"kind": "lawful", "daily_rate": 0.003},  # (flagged with camps)
}
SECTIONS = {  # a section that makes each module act
    "appeals": {"scheme__appeals": {"contest_share": 0.8, "success_rate": 0.5,
                                    "delay_days": 20}},
    "camps": {"channels__platform": {"records": ["prayer"], "detection": 0.5,
                                     "false_attribution": {"behaviour": "prayer",
                                                           "daily_rate": 0.001}},
              "measures__camps": {"behaviours": ["prayer"], "conversion": 0.5,
                                  "term_days": 30}},
    "court_list": {"scheme__blacklist_behaviours": ["debt"], "scheme__blacklist_below": None},
    "credit_repair": {"scheme__credit_repair": {"share": 0.5, "delay_days": 20}},
    "deposits": {"measures__deposits": {"services": [{"behaviour": "prayer", "grades": ["a"],
                                                      "deposit_yuan": 10}]}},
    "deposit_waiver": {"measures__deposit_waiver": {"grades": ["a"]}},
    "deterrence": {"deterrence": {"decay_days": 60, "own_record": 1.0, "own_sanction": 2.0,
                                  "household_sanction": 1.0, "contact_sanction": 0.5,
                                  "offence_sensitivity": 0.5, "speech_sensitivity": 0.5,
                                  "awareness": 0.5, "shaming": 0.5}},
    "expiry": {"scheme__retention_days": 60},
    "human_review": {"scheme__human_review": {"false_record_catch": 0.5}},
    "judgments": {"scheme__blacklist_behaviours": ["debt"],
                  "scheme__judgments": {"unable_share": 0.4, "performance_share": 0.5,
                                        "anyway_share": 0.2, "delay_days": 30,
                                        "delist_unable_share": 0.5,
                                        "delist_unable_delay_days": 10,
                                        "fixed_term_share": 0.3, "fixed_term_days": 40}},
    "loan_denial": {"measures__loan_denial": {"daily_application_rate": 0.05}},
    "rail_ban": {"measures__rail_ban": {"daily_trip_rate": 0.05}},
    "school_priority": {"measures__school_admission": {"day_of_year": 200,
                                                       "applying_share": 1.0},
                        "measures__school_priority": {"grades": ["a"], "share": 1.0}},
    "response": {"scheme__blacklist_behaviours": ["debt"],
                 "scheme__judgments": {"performance_share": 0.5, "delay_days": 30},
                 "measures__travel_ban": {"daily_trip_rate": 0.05,
                                          "yuan_per_refused_trip": 100},
                 "response": {"reference_daily_cost_yuan": 2.0, "default_elasticity": 0.2,
                              "performance_elasticity": 1.0}},
    "prosecution": {"measures__prosecution": {"behaviours": ["speech"], "probability": 0.2,
                                              "detention_days": 20, "refusal_share": 0.5}},
    "school_admission": {"measures__school_admission": {"day_of_year": 200,
                                                        "applying_share": 1.0}},
    "speech_suspension": {"measures__speech_suspension": {"days": 20}},
    "travel_ban": {"measures__travel_ban": {"daily_trip_rate": 0.05,
                                            "yuan_per_refused_trip": 100}},
}
SECTIONS["custody"] = {**SECTIONS["camps"], **SECTIONS["prosecution"]}  # (it holds for both)
SHARES_CANDIDATES = {"employment_penalty"}


def test_every_module_has_a_case_here():
    assert set(SECTIONS) | SHARES_CANDIDATES == {m.name for m in MECHANISMS}


def test_every_module_at_its_neutral_values_is_the_module_absent():
    """The universal kernel runs every module, those a scenario lacks at the values that make
    them do nothing: bit-identical to the specialised kernel, which holds none of them."""
    alone = scenario(**WORLD)
    assert not any(m.active(alone) for m in MECHANISMS)
    universal = simulate(alone, kernel="universal")
    absent = simulate(alone, kernel="specialised")
    assert not absent.kernel_layout.mechanisms
    assert daily_table(universal).equals(daily_table(absent))
    assert (universal.final_score == absent.final_score).all()
    assert (universal.ledger_sum == absent.ledger_sum).all()


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_a_module_on_the_other_side_of_a_pair_changes_nothing(name):
    alone = scenario(**WORLD)
    other = scenario(**{**WORLD, **SECTIONS[name]})
    assert not any(m.name == name and m.active(alone) for m in MECHANISMS)
    solo = simulate(alone, kernel="specialised")  # a kernel without the module
    paired = simulate(alone, counterfactual=other)  # (the universal kernel: it has them all)
    assert name in paired.kernel_layout.mechanisms and name not in solo.kernel_layout.mechanisms
    # (wrongly_blacklisted means another thing in a paired run: see results.py)
    columns = [c for c in daily_table(solo).column_names if c != "wrongly_blacklisted"]
    assert daily_table(paired).select(columns).equals(daily_table(solo).select(columns))
    assert (paired.final_score == solo.final_score).all()
    # and the module does act on the side that has it
    with_it = daily_table(simulate(other))
    module = next(m for m in MECHANISMS if m.name == name)
    if module.always_reported:
        assert not with_it.select(columns).equals(daily_table(solo).select(columns))
    elif module.flows:  # its own columns only
        assert all(with_it[f.name].to_numpy().sum() > 0 for f in module.flows)
    elif name != "custody":  # (no section of its own: tests/mechanisms/test_custody.py)
        # no columns of its own: it changes the others' (against its section alone absent)
        section = module.section.replace(".", "__")
        assert section in SECTIONS[name]
        without = scenario(**{**WORLD, **SECTIONS[name], section: None})
        assert not with_it.equals(daily_table(simulate(without)))
