"""The mechanism modules: every module of this package that defines ``MECHANISM``.

Adding a mechanism is adding a module here (and a field for its section in
the scenario schema): it is found by name, in alphabetical order, which is
also the order of its columns and of its hooks at a shared site, unless its ``order``
puts it earlier.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

import numpy as np

from scsim.mechanisms.base import Mechanism

if TYPE_CHECKING:
    from scsim.scenario.model import Scenario


def _discover() -> tuple[Mechanism, ...]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        mechanism = getattr(module, "MECHANISM", None)
        if mechanism is not None:
            if mechanism.name != info.name:
                raise ValueError(f"mechanism module {info.name} names its mechanism "
                                 f"{mechanism.name!r}")
            found.append(mechanism)
    return tuple(sorted(found, key=lambda m: (m.order, m.name)))


MECHANISMS: tuple[Mechanism, ...] = _discover()
BY_NAME = {m.name: m for m in MECHANISMS}


def in_kernel(s: Scenario, counterfactual: Scenario | None = None) -> tuple[Mechanism, ...]:
    """The mechanisms a run's kernel needs: those either side of the pair uses."""
    return tuple(m for m in MECHANISMS
                 if m.active(s) or (counterfactual is not None and m.active(counterfactual)))


def reported(s: Scenario, counterfactual: Scenario | None = None) -> tuple[Mechanism, ...]:
    """The mechanisms whose columns and quantities a run's outputs carry."""
    kernel = in_kernel(s, counterfactual)
    return tuple(m for m in MECHANISMS if m.always_reported or m in kernel)


def daily_columns(s: Scenario, counterfactual: Scenario | None = None) -> list[str]:
    """The daily.parquet columns of mechanisms that are not always reported, in order."""
    return [column for m in reported(s, counterfactual) if not m.always_reported
            for column in m.columns(counterfactual is not None)]


def costly_sanctions(s: Scenario) -> tuple[Mechanism, ...]:
    """The scenario's sanctions that declare a cost to the listed (in a period of a schedule,
    those in force by its first day: a sanction to come costs nothing yet)."""
    return tuple(m for m in MECHANISMS if m.daily_cost is not None and m.active(s)
                 and m.section not in s._not_yet_in_force)


def listed_daily_cost(s: Scenario, tables) -> np.ndarray:
    """The expected cost, in yuan, of one listed day to a listed citizen of each class: the
    sum of what each of the scenario's sanctions declares (``Mechanism.daily_cost``)."""
    total = np.zeros(tables.n_classes)
    for m in costly_sanctions(s):
        total = total + np.asarray(m.daily_cost(s, tables), dtype=np.float64)
    return total
