"""School admission: against limiting or exactly known cases."""

from __future__ import annotations

from scsim.engine.sim import simulate
from scsim.results import daily_table
from scsim.scenario.pairing import no_system

from mechanism_base import scenario


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
    assert result.ledger_sums("children_penalised").sum() == refused
