"""The field trial of Bu and Liao (2022) in silico: its design, its fitted untreated arm, and
its treated arm printed as a prediction from the national response (never fitted to it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from scsim.calibration import compare
from scsim.cli import app
from scsim.engine.sim import simulate
from scsim.engine.tables import compile_tables
from scsim.kernels.neighbourhood import neighbourhood_members
from scsim.mechanisms.response import cost_ratio
from scsim.rng.counter import seed_key
from scsim.scenario.load import ScenarioError, load_scenario, validate_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TRIAL = SCENARIOS / "shaming-trial.toml"


def _trial(**changes):
    return load_scenario(TRIAL, changes).scenario


def test_the_trial_has_its_design_40_villages_half_warned():
    """Each village (a neighbourhood) is in one arm, all its borrowers in that arm's group,
    and the preset's seed draws 20 warned villages of 40, as the trial had."""
    s = _trial()
    size = s.population.households.neighbourhood_size
    assert s.population.size == 40 * size
    tables = compile_tables(s)
    key = np.uint64(seed_key(s.run.seed))
    arms = []
    for village in range(40):
        members = neighbourhood_members(key, np.int64(village * size), np.int64(size), tables)
        region, group = set(members[:, 2]), set(members[:, 0])
        assert len(region) == 1 and region == group  # (region k's borrowers are group k)
        arms.append(region.pop())
    names = [r.name for r in s.population.regions]
    assert names[0] == "treated_villages" and arms.count(0) == 20


def test_the_warning_costs_the_borrowers_of_the_warned_villages_only():
    """The list is shown in public where naming_regions says: a named borrower there faces
    the naming cost (over the national reference: 1), elsewhere nothing."""
    s = _trial()
    tables = compile_tables(s)
    ratio = cost_ratio(s, tables)
    # classes: group, income, region, propensity, age band (engine.tables.class_index)
    region = np.arange(tables.n_classes) // (tables.n_propensities * 2) % tables.n_regions
    assert np.allclose(ratio[region == 0], 1.0) and np.all(ratio[region == 1] == 0.0)
    everywhere = _trial(**{"response.naming_regions": None})
    assert np.allclose(cost_ratio(everywhere, compile_tables(everywhere)), 1.0)


def test_the_untreated_arm_reproduces_the_trials_base_rates():
    """The untreated villages are fitted.  Tolerance: about 1,000 untreated borrowers, so the
    share ever late has sd sqrt(0.795 x 0.205 / 1000) = 1.3 points, and the 5% tolerance
    (4.0 points) is 3 sd; the yearly count of a borrower has variance about its mean (1.8)
    plus the spread of rates across incomes (about 0.3), so its mean has sd sqrt(2.1 / 1000)
    = 0.046, 2.5%, and the 10% tolerance is 4 sd."""
    s = _trial()
    comparisons = compare(simulate(s), s.calibration.targets, s.population.size)
    fitted = [c for c in comparisons if c.target.role == "fitted"]
    assert {c.target.group for c in fitted} == {"control_borrowers"} and len(fitted) == 2
    for c in fitted:
        assert c.reproduced, (c.target.metric, c.simulated, c.target.published)


def test_the_warning_deters_as_the_national_response_says():
    """Against the same villages without the warning (a naming cost of 0; common random
    numbers), the untreated arm is unchanged exactly and the warned arm's lates are thinned
    by exp(-elasticity x 1 x 1) = exp(-0.12) = 0.887: the chance of being recorded is 1 and
    the naming cost is the reference.  Each of about 1,800 lates is kept with p = 0.887, so
    the ratio has sd sqrt(p (1 - p) / 1,800) = 0.0075; 4 sd."""
    s = _trial()
    unwarned = _trial(**{"response.naming_yuan_per_listed_day": 0.0})
    warned = [c.simulated for c in compare(simulate(s), s.calibration.targets,
                                           s.population.size)]
    plain = [c.simulated for c in compare(simulate(unwarned), s.calibration.targets,
                                          s.population.size)]
    # the targets: untreated share, untreated rate, treated share, treated rate
    assert warned[:2] == plain[:2]
    assert warned[3] / plain[3] == pytest.approx(np.exp(-0.12), abs=4 * 0.0075)
    assert warned[2] < plain[2]  # fewer borrowers ever late


def test_calibrate_prints_the_treated_arm_as_a_prediction_with_its_miss():
    result = CliRunner().invoke(app, ["calibrate", str(TRIAL)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    rows = [line for line in result.output.splitlines() if "│" in line]
    assert sum(line.rstrip().endswith("PREDICTED") for line in rows) == 2
    header = next(line for line in result.output.splitlines() if "┃" in line)
    assert "ratio" in header and "naive" not in header  # (no fitted series to extend)
    assert "PREDICTED: a figure the scenario was not tuned to" in text


def test_a_naming_region_that_does_not_exist_is_refused():
    import tomllib

    data = tomllib.loads(TRIAL.read_text())
    data["response"]["naming_regions"] = ["treated_vilages"]
    with pytest.raises(ScenarioError, match=r"response\.naming_regions\[0\]: unknown region "
                                            r"'treated_vilages'"):
        validate_scenario(data, "<test>")
