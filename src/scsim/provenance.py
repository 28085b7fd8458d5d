"""What each headline figure rests on: the scenario values that feed it, and their sources.

A figure of the ledger is computed from the mechanisms that produce it; the
map below names, for each quantity, the parts of a scenario that feed it
(listing feeds every sanction).  Crossed with the scenario's ``[sources]``
table, it says of each figure how many of its inputs are sourced figures
and which are ASSUMPTIONs, with their plausible ranges.  It is a map of
the model's structure, not a measurement: ``scsim screen`` measures which
assumptions actually move a figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch

from scsim.mechanisms import MECHANISMS
from scsim.scenario.model import Scenario, Source

LISTING = ("population.*", "behaviours.*", "channels.*", "scheme.*")
INPUTS: dict[str, tuple[str, ...]] = {
    "sanctioned": LISTING,
    "wrongly_sanctioned": ("channels.*.false_attribution.*", "scheme.*"),
    "behaviours_prevented": ("deterrence.*", "behaviours.*", "channels.*", "scheme.*",
                             "population.households.*"),
    "speech_lost": ("behaviours.*", "channels.*", "deterrence.*", "adaptation.*",
                    "measures.speech_suspension.*", "scheme.*"),
    "speech_chilled": ("behaviours.*", "channels.*", "deterrence.*", "adaptation.*"),
    "speech_blocked": ("behaviours.*", "channels.*", "measures.speech_suspension.*",
                       "scheme.*"),
    "false_records": ("channels.*.false_attribution.*", "scheme.human_review.*",
                      "scheme.appeals.*", "population.*"),
    "days_blacklisted": LISTING,
    "days_wrongly_blacklisted": ("channels.*.false_attribution.*", "scheme.*"),
    "counterfactual_sanctioned": LISTING,
}


@dataclass(frozen=True)
class RestsOn:
    sourced: list[tuple[str, Source]]
    assumptions: list[tuple[str, Source]]

    def sentence(self) -> str:
        if not self.sourced and not self.assumptions:
            return "no sourced value feeds it"
        parts = []
        if self.sourced:
            parts.append(f"{len(self.sourced)} sourced value{'s' * (len(self.sourced) != 1)}")
        if self.assumptions:
            parts.append(f"{len(self.assumptions)} ASSUMPTION"
                         f"{'s' * (len(self.assumptions) != 1)}")
        return " and ".join(parts)


def rests_on(s: Scenario, quantity: str) -> RestsOn:
    """The [sources] entries among the inputs of ``quantity``."""
    patterns = INPUTS.get(quantity, ())
    for m in MECHANISMS:
        if any(q.name == quantity for q in m.quantities):
            patterns = (*LISTING, *m.inputs)
    feeding = [(path, source) for path, source in s.sources.items()
               if any(fnmatch(path, p) for p in patterns)]
    return RestsOn([e for e in feeding if not e[1].assumption],
                   [e for e in feeding if e[1].assumption])
