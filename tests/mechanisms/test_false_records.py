"""False attribution and wrongful listing: against limiting or exactly known cases."""

from __future__ import annotations

import pyarrow.compute as pc

from scsim.engine.sim import simulate
from scsim.kernels.layout import (
    Q_WRONGLY_SANCTIONED,
)
from scsim.results import daily_table
from scsim.scenario.load import load_scenario
from scsim.scenario.pairing import no_system

from conftest import SCENARIOS
from mechanism_base import scenario


def test_zero_false_match_rate_gives_zero_wrongly_sanctioned():
    s = scenario(channels__cameras__false_attribution=None)
    result = simulate(s, counterfactual=no_system(s))
    assert result.ledger_sum[:, Q_WRONGLY_SANCTIONED].sum() == 0
    assert daily_table(result)["wrongly_blacklisted"].to_numpy().sum() == 0
    assert result.levels[:, :, 3].sum() > 0  # but people were blacklisted


def test_false_records_make_some_citizens_wrongly_sanctioned():
    """The converse, so that the two tests above can fail."""
    s = scenario()
    result = simulate(s, counterfactual=no_system(s))
    wrongly = result.ledger_sum[:, Q_WRONGLY_SANCTIONED]
    assert wrongly.sum() > 0
    # the minority's false-match rate is five times higher
    rate = wrongly / result.population
    assert rate[1] > 2 * rate[0]


def test_false_records_per_channel_add_up_to_the_total():
    """The demo's three false-attribution channels each tally their own false records."""
    s = load_scenario(SCENARIOS / "demo.toml", {"population.size": 50_000}).scenario
    daily = daily_table(simulate(s))
    channels = [c for c, ch in s.channels.items() if ch.false_attribution is not None]
    per_channel = [pc.sum(daily.column(f"false_records_by_{c}")).as_py() for c in channels]
    assert len(channels) == 3 and all(n > 0 for n in per_channel)
    assert sum(per_channel) == pc.sum(daily.column("false_records")).as_py()
