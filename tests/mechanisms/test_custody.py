"""One custody for detention and camps: a citizen held for both reasons is held once.

The rule (``scsim.mechanisms.custody``): terms run concurrently, the custody
ends with the later one, and each day counts under the cause of the term that
will release the citizen, from the day that term began.  The test replays
each traced citizen's admissions through that rule, written again here in
plain Python, and asks for the kernel's levels, releases and days exactly.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from scsim.engine.trace import Tracer

from mechanism_base import scenario

DETENTION, CAMP_TERM, CASE_DELAY, CAMP_DELAY = 40, 90, 60, 10
DETAINED, IN_CAMP = 1, 2


def _both() -> dict:
    """Posts are prosecuted 60 days after their record (a detention of 40 days); prayer is
    flagged, and a flag sends to a camp 10 days later for 90: a citizen may be sent to a camp
    while a case is pending (then detained in the camp), or detained while an admission to a
    camp is pending (then sent to the camp from detention)."""
    return {
        "behaviours__speech": {"kind": "speech", "daily_rate": 0.02},
        "behaviours__prayer": {"kind": "lawful", "daily_rate": 0.01},
        "channels__platform": {"records": ["prayer"], "detection": 0.5},
        "measures__prosecution": {"behaviours": ["speech"], "probability": 1.0,
                                  "delay_days": CASE_DELAY, "detention_days": DETENTION},
        "measures__camps": {"behaviours": ["prayer"], "conversion": 1.0,
                            "delay_days": CAMP_DELAY, "term_days": CAMP_TERM},
        "population__size": 2_000,
    }


def _custody_by_the_rule(admissions: list[tuple[int, int, int]], days: int):
    """(cause held on each day 0..days, 0 when free; releases as (day, cause)) from the
    admissions (day, order on that day, cause), by the documented rule."""
    cause_of_day = np.zeros(days + 1, dtype=np.int64)
    releases = []
    until = -1
    for day, _, cause in sorted(admissions):
        if day > until and until >= 0:  # the custody before ended on its own
            releases.append((until + 1, int(cause_of_day[until])))
        end = day + (DETENTION if cause == DETAINED else CAMP_TERM) - 1
        if day <= until and end <= until:
            continue  # served within the custody under way
        cause_of_day[day:end + 1] = cause  # this term releases: its cause from today
        until = end
    if 0 <= until < days:
        releases.append((until + 1, int(cause_of_day[until])))
    return cause_of_day, releases


def test_a_citizen_held_for_both_reasons_is_held_once_by_the_documented_rule():
    s = scenario(**_both())
    tracer = Tracer(s, None, 0)
    moved = absorbed = 0
    for citizen in range(300):
        trace = tracer.trace(citizen)
        layout = trace.kernel_layout
        flow = {name: trace.flows[:, layout.flows.index(name)] for name in
                ("detentions", "camp_admissions", "releases", "camp_releases")}
        if not (flow["detentions"].any() and flow["camp_admissions"].any()):
            continue
        # (a camp admission comes at the start of its day, before a case comes to court)
        admissions = [(int(d), 1, DETAINED) for d in np.flatnonzero(flow["detentions"])]
        admissions += [(int(d), 0, IN_CAMP) for d in np.flatnonzero(flow["camp_admissions"])]
        cause_of_day, releases = _custody_by_the_rule(admissions, s.run.days)
        detained = trace.levels[:, layout.levels.index("detained")]
        in_camp = trace.levels[:, layout.levels.index("held_in_camps")]
        assert (detained + in_camp <= 1).all(), citizen  # counted once
        assert np.array_equal(detained, cause_of_day == DETAINED), citizen
        assert np.array_equal(in_camp, cause_of_day == IN_CAMP), citizen
        for name, cause in (("releases", DETAINED), ("camp_releases", IN_CAMP)):
            expected = np.zeros(s.run.days + 1, dtype=np.int64)
            for day, by in releases:
                expected[day] += by == cause
            assert np.array_equal(flow[name], expected), (citizen, name)
        days = {q: trace.ledger[layout.quantities.index(q)]
                for q in ("days_detained", "days_in_camps")}
        assert days["days_detained"] == (cause_of_day == DETAINED).sum(), citizen
        assert days["days_in_camps"] == (cause_of_day == IN_CAMP).sum(), citizen
        assert sum(days.values()) == (cause_of_day > 0).sum()  # each day of custody once
        # how the overlaps went: a later term that moved the citizen, or one served within
        for (day, _, cause), (later, _, other) in pairwise(sorted(admissions)):
            end = day + (DETENTION if cause == DETAINED else CAMP_TERM) - 1
            if cause != other and later <= end:
                other_end = later + (DETENTION if other == DETAINED else CAMP_TERM) - 1
                moved += other_end > end
                absorbed += other_end <= end
    # both branches of the rule, each for several citizens (rates chosen so that about a
    # fifth of the traced have overlapping terms)
    assert moved >= 3 and absorbed >= 3, (moved, absorbed)

