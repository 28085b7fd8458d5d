"""Prosecution for speech: against its limiting and exactly known cases."""

from __future__ import annotations

import numpy as np
import pytest

from scsim.engine.sim import simulate
from scsim.engine.trace import Tracer
from scsim.results import daily_table
from scsim.scenario.load import ScenarioError

from mechanism_base import scenario

NO_LIST = {"scheme__blacklist_below": None, "measures__travel_ban": None}


def _prosecution(**values) -> dict:
    return {"measures__prosecution": {"behaviours": ["speech"], **values}}


def _column(table, name: str) -> np.ndarray:
    """(day, group) values of a daily column."""
    groups = len(set(table.column("group").to_pylist()))
    return table.column(name).to_numpy().reshape(-1, groups)


def test_a_probability_of_zero_changes_nothing():
    """Bit-identical in every column the run without the module has (another kernel, with
    the timer, the thinning and the false-record hooks spliced in)."""
    plain = simulate(scenario())
    zero = simulate(scenario(**_prosecution(probability=0.0, detention_days=30,
                                            refusal_share=1.0)))
    a, b = daily_table(plain), daily_table(zero)
    assert b.select(a.column_names).equals(a)
    assert (zero.final_score == plain.final_score).all()
    for name in ("prosecutions", "detentions", "releases", "listed_for_speech", "detained"):
        assert b.column(name).to_numpy().sum() == 0


def test_every_recorded_post_is_prosecuted_at_once_when_certain():
    """Probability 1, no delay, no conviction: each recorded post is a case that day."""
    table = daily_table(simulate(scenario(**_prosecution(probability=1.0,
                                                         conviction_rate=0.0))))
    recorded = _column(table, "recorded_speech")
    assert recorded.sum() > 100
    assert (_column(table, "prosecutions") == recorded).all()
    assert _column(table, "detentions").sum() == 0


def test_the_held_count_is_admissions_minus_releases_each_day():
    """detained[d] = detained[d-1] + detentions[d] - releases[d] for every day and group
    (day 0: nobody), and with a fixed term each release is the admission of TERM days
    before; a case comes to court DELAY days after the record."""
    term, delay = 30, 10
    result = simulate(scenario(**_prosecution(probability=0.5, delay_days=delay,
                                              detention_days=term)))
    table = daily_table(result)
    held = _column(table, "detained")
    admitted, released = _column(table, "detentions"), _column(table, "releases")
    assert admitted.sum() > 50
    previous = np.vstack([np.zeros((1, held.shape[1]), dtype=held.dtype), held[:-1]])
    assert (held == previous + admitted - released).all()
    assert (released[term:] == admitted[:-term]).all() and released[:term].sum() == 0
    assert _column(table, "prosecutions")[:delay].sum() == 0


def _detained_traces(s, wanted: int = 5):
    tracer = Tracer(s, None, 0)
    found = []
    for citizen in range(s.population.size):
        trace = tracer.trace(citizen)
        column = trace.kernel_layout.flows.index("detentions")
        if trace.flows[:, column].sum() > 0:
            found.append(trace)
            if len(found) == wanted:
                break
    return found


def test_a_detained_citizen_has_no_events_while_held():
    """Nothing committed, recorded or falsely attributed on a day of detention (the case
    comes to court before the day's events, so its first day is held too)."""
    term = 60
    s = scenario(**_prosecution(probability=1.0, delay_days=5, detention_days=term))
    traces = _detained_traces(s)
    assert len(traces) == 5
    for trace in traces:
        layout = trace.kernel_layout
        named = len(layout.flows)
        n_behaviours = len(s.behaviours)
        events = trace.flows[:, named:named + 2 * n_behaviours].sum(axis=1)
        false = trace.flows[:, layout.flows.index("false_records")]
        starts = np.flatnonzero(trace.flows[:, layout.flows.index("detentions")])
        for start in starts:
            held = slice(start, min(start + term, s.run.days + 1))
            assert events[held].sum() == 0 and false[held].sum() == 0
            assert trace.levels[start:start + term, layout.levels.index("detained")].min() == 1


def test_a_refusal_lists_on_release_with_the_measures_of_the_list():
    """Without a score threshold only a refusal lists: each listing starts on a release
    (TERM days after its case) and is an entry to the list; the listed are refused trips."""
    term = 20
    table = daily_table(simulate(scenario(**{
        **NO_LIST, **_prosecution(probability=0.3, detention_days=term, refusal_share=1.0,
                                  listing_days=100),
        "measures__travel_ban": {"daily_trip_rate": 0.2}})))
    listed = _column(table, "listed_for_speech")
    assert listed.sum() > 20
    assert (_column(table, "entered_blacklist") == listed).all()
    assert (listed <= _column(table, "releases")).all()
    assert _column(table, "denied_trips").sum() > 0


def test_the_behaviours_must_be_speech_that_exists():
    with pytest.raises(ScenarioError, match=r"unknown behaviour 'speach'"):
        scenario(**_prosecution(probability=0.1, behaviours=["speach"]))
    with pytest.raises(ScenarioError, match=r"'jaywalk' is not of kind \"speech\""):
        scenario(**_prosecution(probability=0.1, behaviours=["jaywalk"]))
