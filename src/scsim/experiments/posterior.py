"""Drawing a scenario's uncertain values from a fit's posterior (``--posterior FIT``).

A run or an ensemble that names a fit takes the values the fit estimated from
one particle of its last generation, chosen with the particles' weights.  An
ensemble draws one particle per replicate, each from its own seeded stream,
so replicate R has the same draw however many replicates run, in whatever
order, and after a resume; its figures then spread with the parameters'
uncertainty and the seeds' together.

The scenario need not be the one fitted (national takes the history's fit):
each fitted path must name a number field of it.  A paired counterfactual
takes the drawn value wherever it kept the run's own value (the world's
rates, the rates it shares); where it sets a value of its own, that stays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scsim.errors import ScsimError

if TYPE_CHECKING:
    from scsim.scenario.load import LoadedScenario
    from scsim.scenario.pairing import Counterfactual

POSTERIOR_STREAM = 7
"""The last word of a draw's seed sequence: [seed, replicate, 7] (fits use 1 and 2)."""


class PosteriorError(ScsimError):
    """A fit that cannot give draws, or a scenario that cannot take them."""


@dataclasses.dataclass(frozen=True)
class Posterior:
    """A fit's last generation: its particles' values and weights."""

    folder: Path
    paths: tuple[str, ...]
    values: np.ndarray  # particles x paths
    weights: np.ndarray  # summing to 1
    generation: int
    fit_scenario: str
    particles_sha256: str

    def draw(self, seed: int, replicate: int) -> tuple[int, dict[str, float]]:
        """The particle drawn for ``replicate`` under ``seed`` and its values."""
        rng = np.random.default_rng([seed, replicate, POSTERIOR_STREAM])
        k = int(rng.choice(len(self.weights), p=self.weights))
        return k, {p: float(v) for p, v in zip(self.paths, self.values[k], strict=True)}

    def manifest(self) -> dict[str, Any]:
        """What a run or an ensemble records of the posterior it drew from."""
        return {"fit": str(self.folder), "fit_scenario": self.fit_scenario,
                "generation": self.generation, "particles": len(self.weights),
                "paths": list(self.paths), "particles_sha256": self.particles_sha256,
                "draw": f"one particle by weight, numpy default_rng([seed, replicate, "
                        f"{POSTERIOR_STREAM}])"}


def read_posterior(folder: Path) -> Posterior:
    """The last generation of the fit in ``folder`` (PosteriorError if there is none)."""
    import pyarrow.parquet as pq

    from scsim.experiments.fit import FIT_FILE, PARTICLES

    try:
        manifest = json.loads((folder / FIT_FILE).read_text())
        paths = tuple(p["path"] for p in manifest["priors"])
        raw = (folder / PARTICLES).read_bytes()
        table = pq.read_table(folder / PARTICLES).to_pandas()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PosteriorError(f"--posterior: {folder}: not a finished scsim fit ({exc})") \
            from None
    if table.empty:
        raise PosteriorError(f"--posterior: {folder}: the fit has no generation yet; run it "
                             "(scsim fit --resume)")
    missing = [p for p in paths if p not in table.columns]
    if missing:
        raise PosteriorError(f"--posterior: {folder / PARTICLES}: no column {missing[0]!r}")
    last = table[table.generation == table.generation.max()]
    weights = last.weight.to_numpy(dtype=float)
    values = last[list(paths)].to_numpy(dtype=float)
    if not (np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0
            and np.isfinite(values).all()):
        raise PosteriorError(f"--posterior: {folder / PARTICLES}: weights or values that are "
                             "not finite numbers")
    return Posterior(folder, paths, values, weights / weights.sum(),
                     int(last.generation.iloc[0]), str(manifest.get("scenario_file", "?")),
                     hashlib.sha256(raw).hexdigest())


def check_applies(posterior: Posterior, scenario: Any, source: str) -> None:
    """Each fitted path names a number field of ``scenario`` (PosteriorError naming it)."""
    from scsim.scenario.load import _not_a_number

    for path in posterior.paths:
        problem = _not_a_number(scenario, path)
        if problem is not None:
            raise PosteriorError(f"{source}: --posterior {posterior.folder}: the fitted value "
                                 f"{path}: {problem}")


def get_at(dump: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted path of a scenario's dump (KeyError or TypeError if none)."""
    node = dump
    for part in dotted.split("."):
        node = node[part]
    return node


def with_draw(dump: dict[str, Any], values: dict[str, float],
              shares_with: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``dump`` with the drawn values set.  With ``shares_with`` (the run's dump
    before the draw), ``dump`` is a counterfactual's: it takes a value only where its own
    equals the run's."""
    from scsim.scenario.load import set_at

    out = json.loads(json.dumps(dump))
    for path, value in values.items():
        if shares_with is not None:
            try:
                if get_at(out, path) != get_at(shares_with, path):
                    continue
            except (KeyError, TypeError):
                continue  # the counterfactual has no such value (no system: no channels)
        set_at(out, path, value)
    return out


def with_values(loaded: LoadedScenario, pairing: Counterfactual | None,
                values: dict[str, float], source: str | None = None
                ) -> tuple[LoadedScenario, Counterfactual | None]:
    """``loaded`` with ``values`` set at their paths, and its counterfactual to match: ``none``
    of the new scenario, or another file taking each value where it kept the run's own."""
    from scsim.scenario.load import scenario_sha256, validate_scenario
    from scsim.scenario.pairing import Counterfactual, no_system

    own = loaded.scenario.model_dump(mode="json")
    changed = validate_scenario(with_draw(own, values), source or loaded.source)
    changed = dataclasses.replace(changed, declared_size=loaded.declared_size)
    if pairing is not None:
        if pairing.label == "none":
            cf = no_system(changed.scenario)
            pairing = Counterfactual(cf, "none", scenario_sha256(cf))
        else:
            other = validate_scenario(with_draw(pairing.scenario.model_dump(mode="json"),
                                                values, shares_with=own), pairing.label)
            pairing = Counterfactual(other.scenario, pairing.label, other.sha256)
    return changed, pairing


def drawn_scenarios(posterior: Posterior, loaded: LoadedScenario,
                    pairing: Counterfactual | None, seed: int, replicate: int
                    ) -> tuple[LoadedScenario, Counterfactual | None, dict[str, Any]]:
    """``loaded`` (and its counterfactual) with the fitted values of replicate R's draw under
    ``seed``, and what was drawn (the particle and its values, as run.parquet records)."""
    particle, values = posterior.draw(seed, replicate)
    drawn, pairing = with_values(loaded, pairing, values)
    return drawn, pairing, {"posterior_particle": particle, **values}


def single_run_draw(posterior: Posterior, loaded: LoadedScenario,
                    pairing: Counterfactual | None
                    ) -> tuple[LoadedScenario, Counterfactual | None, dict[str, Any]]:
    """A single run's draw (replicate 0 under its own seed), and what ``summary.json``
    records of it (the fit, the particle and its values)."""
    drawn, pairing, values = drawn_scenarios(posterior, loaded, pairing,
                                             loaded.scenario.run.seed, 0)
    record = posterior.manifest() | {"particle": values.pop("posterior_particle"),
                                     "values": values}
    return drawn, pairing, record
