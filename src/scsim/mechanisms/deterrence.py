"""Deterrence and spillovers: perceived risk deters offences and chills speech.

Each scored citizen carries a perceived risk that jumps when one of their
own offences or posts is recorded (true or false: they cannot tell), when
they are listed, and, with households, when a household member or a contact
is listed (spillovers); it decays exponentially over ``decay_days``.  An
offence or a post is committed with its rate times exp(-sensitivity x
risk), by thinning the candidate event (ACCEPT draw), so the same citizen
with the same draws commits a subset of what they would commit without the
system.  Jumps count from the day after their cause.  A pair inside a
neighbourhood is a contact with probability ``contacts_per_citizen / (size
- 1)``, decided by a hash of the pair (purpose CONTACT), so no contact list is
stored.

General deterrence adds two terms that need nothing to happen to the citizen:
``awareness`` times the chance that one instance of the behaviour is recorded
where the citizen lives (the coverage and detection of the channel that
watches it, which they know of), and ``shaming`` for each percent of their
neighbourhood on the list (the public list, screens, notices), from the day
after a neighbour's listing to their delisting.  Each member keeps the count
of listed neighbours, as of the end of the day before, in three state
columns, so no neighbourhood-wide array is needed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, NamedTuple

import numpy as np
from pydantic import Field

from scsim.mechanisms.base import Mechanism, S, inline
from scsim.scenario.fields import MAX_DAYS, RiskWeight, Strict

if TYPE_CHECKING:  # names of the kernel, where the hooks are spliced
    from scsim.kernels.neighbourhood import (
        F_PENDING,
        F_RISK,
        GOOD_DEED,
        NEVER,
        OFFENCE,
        S_HOUSEHOLD,
        S_ID,
        citizen_key,
        uniform,
    )
    from scsim.scenario.model import Scenario

CONTACT = 10
"""Random-number purpose: are two neighbours contacts (key of the lower id, counter = the
difference of the ids)."""


class Deterrence(Strict):
    """Perceived surveillance risk, and how it deters offences and chills speech.

    Each citizen's risk jumps when something happens to them or near them and
    decays exponentially; an offence or a speech event is committed with its
    rate times exp(-sensitivity * risk).  Jumps count from the next day.
    """

    decay_days: Annotated[float, Field(gt=0.0, le=MAX_DAYS)]
    """E-folding time of perceived risk, in days."""
    own_record: RiskWeight = 0.0
    """Risk added when one of the citizen's own offences or speech events is recorded
    (true or false: the citizen cannot tell)."""
    own_sanction: RiskWeight = 0.0
    """Risk added when the citizen is blacklisted."""
    household_sanction: RiskWeight = 0.0
    """Risk added when a member of the household is blacklisted."""
    contact_sanction: RiskWeight = 0.0
    """Risk added when a contact is blacklisted."""
    offence_sensitivity: RiskWeight = 0.0
    """How strongly risk deters offences."""
    speech_sensitivity: RiskWeight = 0.0
    """How strongly risk chills speech."""
    awareness: RiskWeight = 0.0
    """General deterrence from known surveillance: risk perceived before an offence or a
    post, times the chance that the channel watching it records it (coverage x detection
    in the citizen's region and group)."""
    shaming: RiskWeight = 0.0
    """General deterrence from public shaming: risk perceived for each percent of the
    citizen's neighbourhood on the list (from the day after a listing to the delisting);
    needs ``population.households`` (neighbourhoods)."""


class Params(NamedTuple):
    on: bool
    inv_decay: float
    own_record: np.ndarray
    """(periods,) the jump of perceived risk on one's own record, in each period ..."""
    own_sanction: np.ndarray
    household: np.ndarray
    contact: np.ndarray
    offence_sensitivity: np.ndarray
    """(periods,) how much risk deters an offence committed in the period."""
    speech_sensitivity: np.ndarray
    contact_prob: float
    awareness: np.ndarray
    """(periods,) risk per unit chance of being recorded."""
    shaming: np.ndarray
    """(periods,) risk per percent of the neighbourhood listed."""
    percent_per_neighbour: float
    """100 / the neighbourhood's size: the percent of it one listed neighbour is."""
    counting: bool
    """Whether members count their listed neighbours (shaming in some period)."""


def params(s: Scenario, tables) -> Params:
    d = s.deterrence
    if d is None:
        return Params(False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False)
    households = s.population.households
    size = households.neighbourhood_size if households is not None else 1
    contact_prob = (min(1.0, households.contacts_per_citizen / (size - 1))
                    if households is not None and size > 1 else 0.0)
    counting = d.shaming > 0.0  # (in any period: ``any_period``)
    return Params(True, 1.0 / d.decay_days, d.own_record, d.own_sanction,
                  d.household_sanction, d.contact_sanction, d.offence_sensitivity,
                  d.speech_sensitivity, contact_prob, d.awareness, d.shaming,
                  100.0 / size, counting)


@inline
def fold_pending(state, risk, m, inv_decay):
    pending_day = state[m, S.pending_day]
    risk[m, F_RISK] = (
        risk[m, F_RISK] * math.exp(-(pending_day - state[m, S.risk_day]) * inv_decay)
        + risk[m, F_PENDING]
    )
    state[m, S.risk_day] = pending_day
    risk[m, F_PENDING] = 0.0
    state[m, S.pending_day] = NEVER


@inline
def risk_at(state, risk, m, day, inv_decay):
    """Perceived risk on ``day``; jumps count from the day after their cause."""
    if state[m, S.pending_day] <= day:
        fold_pending(state, risk, m, inv_decay)
    if risk[m, F_RISK] == 0.0:
        return 0.0
    return risk[m, F_RISK] * math.exp(-(day - state[m, S.risk_day]) * inv_decay)


@inline
def jump_risk(state, risk, m, day, weight, inv_decay):
    """Add ``weight`` to the member's risk from ``day + 1`` on."""
    if weight <= 0.0:
        return
    effective = day + 1
    if state[m, S.pending_day] != effective:
        if state[m, S.pending_day] != NEVER:
            fold_pending(state, risk, m, inv_decay)
        state[m, S.pending_day] = effective
        risk[m, F_PENDING] = weight
    else:
        risk[m, F_PENDING] += weight


@inline
def neighbours_listed(state, m, day):
    """How many of the member's neighbours are listed, as of the end of ``day - 1``."""
    if state[m, S.shamed_day] == day:
        return state[m, S.shamed_before]
    return state[m, S.shamed_now]


@inline
def count_listed_neighbour(state, other, day, delta):
    """A neighbour of ``other`` enters (+1) or leaves (-1) the list on ``day``."""
    if state[other, S.shamed_day] != day:
        state[other, S.shamed_before] = state[other, S.shamed_now]
        state[other, S.shamed_day] = day
    state[other, S.shamed_now] += delta


def are_contacts(seed_key, id_a, id_b, p):
    low = min(id_a, id_b)
    return uniform(citizen_key(seed_key, low), CONTACT, 0, max(id_a, id_b) - low) < p


def member_started(m, state, risk) -> None:
    state[m, S.risk_day] = 0
    state[m, S.pending_day] = NEVER
    risk[m, F_RISK] = 0.0
    risk[m, F_PENDING] = 0.0
    state[m, S.shamed_now] = 0
    state[m, S.shamed_before] = 0
    state[m, S.shamed_day] = NEVER


def thinning(P: Params, m, k, c, b, kind, day, state, risk, p, t) -> None:
    """Risk lowers the rate of offences and speech, and of a lawful activity the system
    flags (chilled like speech; good deeds are not deterred): one's own risk, plus what
    the citizen knows of the watching channel and sees of the listed around them."""
    if P.on and kind != GOOD_DEED:
        sensitivity = P.offence_sensitivity[k] if kind == OFFENCE else P.speech_sensitivity[k]
        if sensitivity > 0.0:
            perceived = risk_at(state, risk, m, day, P.inv_decay)
            if P.awareness[k] > 0.0:
                perceived += P.awareness[k] * t.record_prob[k, c, b]
            if P.shaming[k] > 0.0:
                perceived += (P.shaming[k] * P.percent_per_neighbour
                              * neighbours_listed(state, m, day))
            p *= math.exp(-sensitivity * perceived)


def recorded(P: Params, m, k, kind, day, state, risk) -> None:
    if kind != GOOD_DEED:
        jump_risk(state, risk, m, day, P.own_record[k], P.inv_decay)


def false_recorded(P: Params, m, k, day, state, risk) -> None:
    jump_risk(state, risk, m, day, P.own_record[k], P.inv_decay)


def listed(P: Params, m, k, day, state, risk, members, n_members, seed_key,
           interacting) -> None:
    """One's own listing, and with spillovers a household member's or a contact's; with
    shaming, every neighbour sees it."""
    if P.on:
        jump_risk(state, risk, m, day, P.own_sanction[k], P.inv_decay)
        if interacting:
            for position in range(n_members):
                other = members[position]
                if other == m:
                    continue
                if P.counting:
                    count_listed_neighbour(state, other, day, 1)
                if state[other, S_HOUSEHOLD] == state[m, S_HOUSEHOLD]:
                    jump_risk(state, risk, other, day, P.household[k], P.inv_decay)
                elif P.contact[k] > 0.0 and are_contacts(
                    seed_key, state[m, S_ID], state[other, S_ID], P.contact_prob
                ):
                    jump_risk(state, risk, other, day, P.contact[k], P.inv_decay)


def delisted(P: Params, m, day, state, members, n_members) -> None:
    """With shaming, the neighbours see the name leave the list."""
    if P.counting:
        for position in range(n_members):
            other = members[position]
            if other != m:
                count_listed_neighbour(state, other, day, -1)


def check(s: Scenario):
    d = s.deterrence
    if d is not None and d.shaming > 0.0 and s.population.households is None:
        yield "deterrence.shaming", ("shaming needs population.households: a citizen sees who "
                                     "is listed in their neighbourhood")


def _describe(s: Scenario) -> str:
    t = s.deterrence
    if t is None:
        return ""
    return (f"perceived risk jumps by {t.own_record:g} on one's own record, {t.own_sanction:g} "
            f"on one's listing, {t.household_sanction:g} on a household member's, "
            f"{t.contact_sanction:g} on a contact's, and decays over {t.decay_days:g} days; "
            f"it deters offences (sensitivity {t.offence_sensitivity:g}) and chills speech "
            f"({t.speech_sensitivity:g})"
            + (f"; known surveillance adds {t.awareness:g} times the chance of being recorded"
               if t.awareness > 0 else "")
            + (f"; each percent of the neighbourhood on the list adds {t.shaming:g}"
               if t.shaming > 0 else ""))


MECHANISM = Mechanism(
    name="deterrence",
    title="deterrence",
    what="perceived risk lowers the rates of offences and speech; records and listings "
         "raise it, a listing also the household's and contacts' (from the next day); "
         "known surveillance and the neighbourhood's listed share add to it",
    plan={"thinning": ("perceived risk (one's own, known surveillance, the neighbours "
                       "listed) lowers the rates of offences and speech", ()),
          "recorded": ("one's own recorded offence or post raises perceived risk", ()),
          "false_recorded": ("so does a false record (the citizen cannot tell)", ()),
          "listed": ("a listing raises the risk of the member, and of the household and "
                     "contacts (spillovers), from the next day; with shaming the "
                     "neighbours count it", ("CONTACT",)),
          "delisted": ("with shaming, the neighbours count the delisting", ())},
    section="deterrence",
    active=lambda s: s.deterrence is not None,
    params=params,
    hooks={"member_started": member_started, "thinning": thinning, "recorded": recorded,
           "false_recorded": false_recorded, "listed": listed, "delisted": delisted},
    helpers=(fold_pending, risk_at, jump_risk, neighbours_listed, count_listed_neighbour,
             are_contacts),
    purposes={"CONTACT": CONTACT},
    state=("risk_day", "pending_day", "shamed_now", "shamed_before", "shamed_day"),
    check=check,
    describe=_describe,
    inputs=("deterrence.*", "population.households.*"),
    schedulable=("deterrence.own_record", "deterrence.own_sanction",
                 "deterrence.household_sanction", "deterrence.contact_sanction",
                 "deterrence.offence_sensitivity", "deterrence.speech_sensitivity",
                 "deterrence.awareness", "deterrence.shaming"),
    per_period=("own_record", "own_sanction", "household", "contact", "offence_sensitivity",
                "speech_sensitivity", "awareness", "shaming"),
    any_period=("counting",),
)
