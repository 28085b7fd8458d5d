"""Personal propensity levels: against limiting or exactly known cases."""

from __future__ import annotations

import numpy as np

from scsim.engine.sim import simulate

from mechanism_base import scenario


def test_personal_propensity_concentrates_offences_as_the_mixture_predicts():
    """Two propensity levels, careful (80%, rate x 0.25) and reckless (20%, x 4): mean x 1.

    One recorded offence blacklists, so a citizen is ever sanctioned iff they
    offend at least once in T days: P = sum_k share_k (1 - (1 - m_k p)^T) =
    0.337 for the mixture, against 0.551 for everyone at the mean rate.  With
    n citizens the share's sd is sqrt(P (1 - P) / n) < 0.003; allow 4 sd.
    The total committed follows the mean rate: n T p.  A citizen's count has
    variance E[Var | level] + Var(E | level) = T p E[m] + (T p)^2 Var(m), with
    E[m] = 1 and Var(m) = 0.8 * 0.25^2 + 0.2 * 4^2 - 1 = 2.25; allow 4 sd of the sum.
    """
    p, days, n = 0.002, 400, 40_000
    s = scenario(
        population__size=n,
        population__propensity_levels=[{"name": "careful", "share": 0.8},
                                       {"name": "reckless", "share": 0.2}],
        behaviours={"act": {"kind": "offence", "daily_rate": p,
                            "multiplier_by_propensity": {"careful": 0.25, "reckless": 4.0}}},
        channels={"courts": {"records": ["act"]}},
        scheme__points={"act": -10},
        scheme__blacklist_below=995,
        run__days=days,
    )
    result = simulate(s)
    mixture = 0.8 * (1 - (1 - 0.25 * p) ** days) + 0.2 * (1 - (1 - 4 * p) ** days)
    share = result.ledger_sum[:, 0].sum() / n  # Q_SANCTIONED
    assert abs(share - mixture) < 4 * np.sqrt(mixture * (1 - mixture) / n)
    assert abs(share - (1 - (1 - p) ** days)) > 0.2
    committed = result.run.flows[1:, :, result.flow_layout.committed(0)].sum()
    per_citizen_variance = days * p + (days * p) ** 2 * 2.25
    assert abs(committed - n * days * p) < 4 * np.sqrt(n * per_citizen_variance)
