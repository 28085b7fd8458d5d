"""Pilots: city point schemes inside regions, beside the national court list.

What must hold: a pilot scores only its own citizens; a pilot whose scale and
points are the national scheme's changes nothing (its citizens are simulated
with the same draws, only counted apart); membership follows the pilot's
share; pilots_only behaviours happen only in pilots; the ledger's schemes add
up to its totals; bad pilots are refused with the field and the reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from scsim.engine.sim import simulate
from scsim.engine.tables import compile_tables
from scsim.kernels.neighbourhood import neighbourhood_members
from scsim.ledger import build_ledger
from scsim.results import daily_table
from scsim.rng.counter import seed_key
from scsim.scenario.load import ScenarioError
from scsim.scenario.pairing import no_system, world_differences

from mechanism_base import scenario

REGIONS = [{"name": "north", "share": 0.6}, {"name": "south", "share": 0.4}]
GRADES = [{"name": "hi", "min_score": 1000}, {"name": "lo", "min_score": 0}]
NATIONAL = {"start_score": 1000, "min_score": 0, "max_score": 2000,
            "blacklist_below": None, "blacklist_behaviours": ["debt"],
            "points": {"jaywalk": -5, "speech": -5, "debt": -50}}


def _world(**changes):
    return scenario(**{
        "population__regions": REGIONS,
        "population__households": {"neighbourhood_size": 8, "types": [
            {"adults": 2, "children": 1, "share": 0.5}, {"adults": 1, "share": 0.5}]},
        "run__days": 200,
        **{f"scheme__{k}": v for k, v in NATIONAL.items()},
        **changes})


def _pilot(**fields):
    return {"region": "south", "share_of_region": 0.5, "start_score": 1000, "min_score": 0,
            "max_score": 2000, **fields}


def _schemes_of_every_citizen(s) -> np.ndarray:
    """Each citizen's scheme, derived as the kernel derives it (``neighbourhood_members``)."""
    t = compile_tables(s)
    key = np.uint64(seed_key(s.run.seed))
    n, unit = s.population.size, t.unit_size
    out = np.empty(n, dtype=np.int64)
    region = np.empty(n, dtype=np.int64)
    for first in range(0, n, unit):
        size = min(unit, n - first)
        traits = neighbourhood_members(key, np.int64(first), np.int64(size), t)
        out[first:first + size] = traits[:, 6]
        region[first:first + size] = traits[:, 2]
    return out, region


def test_a_pilots_scheme_never_scores_a_citizen_outside_it():
    s = _world(scheme__points={}, pilots={"town": _pilot(points={"jaywalk": -5})})
    result = simulate(s)
    scheme, region = _schemes_of_every_citizen(s)
    assert (region[scheme == 1] == 1).all()  # the pilot lies in the south
    changed = result.final_score != 1000
    assert changed.sum() > 100  # its citizens are scored (the test can fail)
    assert (scheme[changed] == 1).all()
    # and the national list applies to everyone: citizens of both schemes are listed
    ledger = build_ledger(result, None)
    for name in ("national", "town"):
        assert ledger["by_scheme"][name]["quantities"]["sanctioned"]["value"] > 0


def test_a_pilot_on_the_national_scale_with_its_points_changes_nothing():
    """Its citizens have classes of their own, with every value of their region, so they
    draw the same numbers: every column is bit-identical, the grades summed across the two
    schemes' names (the pilot starts its citizens on day 0 itself, not by the fill)."""
    waiver = {"measures__deposit_waiver": {"grades": ["hi"]}}
    plain = daily_table(simulate(_world(scheme__grades=GRADES, **waiver)))
    pilot = _pilot(points=NATIONAL["points"],
                   grades=[{"name": "town_hi", "min_score": 1000},
                           {"name": "town_lo", "min_score": 0}])
    piloted = daily_table(simulate(_world(
        scheme__grades=GRADES, pilots={"town": pilot},
        measures__deposit_waiver={"grades": ["hi", "town_hi"]})))
    for column in plain.column_names:
        if column.startswith("grade_"):
            same = (piloted.column(column).to_numpy()
                    + piloted.column(f"grade_town_{column[6:]}").to_numpy())
        else:
            same = piloted.column(column).to_numpy()
        expected = plain.column(column).to_numpy()
        assert np.array_equal(expected, same, equal_nan=expected.dtype.kind == "f"), column


def test_membership_follows_the_pilots_share_of_its_region():
    """A neighbourhood (8 citizens here) is in the south with probability 0.4 and then in
    the pilot with probability 0.5: pilot neighbourhoods ~ Binomial(units, 0.2), within
    5 sd = 5 sqrt(units 0.2 0.8)."""
    s = _world(population__size=80_000, pilots={"town": _pilot()})
    scheme, _ = _schemes_of_every_citizen(s)
    units = 80_000 // 8
    in_pilot = scheme[::8].sum()
    assert abs(in_pilot - 0.2 * units) <= 5 * (units * 0.2 * 0.8) ** 0.5
    assert (scheme.reshape(-1, 8) == scheme[::8, None]).all()  # whole neighbourhoods


def test_pilots_only_behaviour_happens_only_in_pilots():
    """Each scored citizen-day of a pilot is a Bernoulli(0.01) candidate: the committed
    total is within 5 sd of 0.01 x (scored pilot citizens x days)."""
    s = _world(behaviours__litter={"kind": "offence", "daily_rate": 0.01, "pilots_only": True},
               pilots={"town": _pilot(points={"litter": -2})})
    result = simulate(s)
    ledger = build_ledger(result, None)
    scored_in_pilot = ledger["by_scheme"]["town"]["scored"]
    committed = daily_table(result).column("litter_committed").to_numpy().sum()
    n = scored_in_pilot * s.run.days
    assert abs(committed - 0.01 * n) <= 5 * (n * 0.01 * 0.99) ** 0.5


def test_the_schemes_add_up_to_the_totals():
    s = _world(pilots={"town": _pilot(points={"jaywalk": -20}),
                       "port": {**_pilot(share_of_region=0.3), "region": "north"}})
    result = simulate(s, counterfactual=no_system(s))
    ledger = build_ledger(result, "none")
    schemes = ledger["by_scheme"]
    assert list(schemes) == ["national", "town", "port"]
    assert sum(x["citizens"] for x in schemes.values()) == ledger["citizens"]
    for q, total in ledger["totals"].items():
        assert sum(x["quantities"][q]["value"] for x in schemes.values()) == total, q
    assert schemes["port"]["region"] == "north"
    assert schemes["town"]["mean_final_score"] < schemes["port"]["mean_final_score"]


def test_results_do_not_depend_on_the_chunk_size():
    s = _world(pilots={"town": _pilot(points={"jaywalk": -20})})
    a, b = simulate(s, chunk_size=1000), simulate(s, chunk_size=7)
    assert daily_table(a).equals(daily_table(b))
    assert np.array_equal(a.cell_sum, b.cell_sum)
    assert np.array_equal(a.final_score, b.final_score)


def test_a_counterfactual_shares_the_pilots_places():
    s = _world(pilots={"town": _pilot()})
    assert world_differences(s, no_system(s)) == []
    moved = _world(pilots={"town": _pilot(share_of_region=0.4)})
    assert [field for field, _ in world_differences(s, moved)] == ["pilots"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"pilots": {"town": _pilot(region="west")}}, "pilots.town.region: unknown region 'west'"),
    ({"pilots": {"town": _pilot(), "port": _pilot(share_of_region=0.6)}},
     "pilots.port.share_of_region: the pilots of region 'south' cover 1.1"),
    ({"pilots": {"town": _pilot(points={"jaywalks": -1})}},
     "pilots.town.points.jaywalks: unknown behaviour 'jaywalks'"),
    ({"scheme__grades": GRADES, "pilots": {"town": _pilot(grades=GRADES)}},
     "grade 'hi' is already a grade of scheme.grades"),
    ({"pilots": {"national": _pilot()}}, "'national' names the national scheme"),
    ({"scheme__blacklist_below": 990, "pilots": {"town": _pilot()}},
     "scheme.blacklist_below: a score threshold cannot list citizens of pilots"),
    ({"behaviours__litter": {"daily_rate": 0.01, "pilots_only": True}},
     "behaviours.litter.pilots_only: there are no pilots"),
    ({"behaviours__litter": {"daily_rate": 0.01, "pilots_only": True},
      "scheme__points": {"litter": -1}, "pilots": {"town": _pilot()}},
     "scheme.points.litter: 'litter' is pilots_only"),
    ({"pilots": {"town": _pilot(start_score=3000)}}, "start_score"),
    ({"pilots": {"town": _pilot(share_of_region=0)}}, "share_of_region"),
])
def test_bad_pilots_are_refused_with_the_field_and_the_reason(changes, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(".", r"\.")):
        _world(**changes)


def test_a_schedule_cannot_change_a_pilot():
    with pytest.raises(ScenarioError, match="fixed for the run"):
        _world(run__start="2020-01-01", pilots={"town": _pilot()},
               schedule=[{"date": "2020-03-01", "set": {"pilots.town.points.jaywalk": -9}}])


def test_a_traced_pilot_citizen_ends_on_the_runs_score_and_says_its_pilot():
    from scsim.engine.trace import Tracer
    from scsim.kernels.layout import LEVEL_SCORE_SUM
    from scsim.story import tell

    s = _world(scheme__points={}, pilots={"town": _pilot(points={"jaywalk": -5})})
    result = simulate(s)
    scheme, _ = _schemes_of_every_citizen(s)
    citizen = int(np.flatnonzero((scheme == 1) & (result.final_score < 990))[0])
    trace = Tracer(s).trace(citizen)
    assert trace.me.scheme == "town"
    assert trace.levels[-1, LEVEL_SCORE_SUM] == result.final_score[citizen]
    assert "(pilot town)" in tell(trace).who
