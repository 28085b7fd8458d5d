"""pyabc's Dask sampling, reproducible: each evaluation draws from its own seed.

pyabc's ``DaskDistributedSampler`` reseeds every task from the operating
system, so no two fits are alike.  This sampler keeps its scheme (jobs
numbered in the order they start; a generation is the first ``n`` accepted
in that order, with every earlier job finished, and the later ones
cancelled) but seeds job ``j`` of generation ``t`` from (fit seed, t, j).
So the particles of a generation, and the count of evaluations it took, are
the same whatever the number of workers or the order in which they finish.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import cloudpickle
import numpy as np
from pyabc.sampler import Sampler


def job_seed(seed: int, generation: int, job: int) -> int:
    """The seed of one evaluation (generation -1 is pyabc's calibration sample)."""
    return int(np.random.SeedSequence([seed, generation + 1, job]).generate_state(1)[0])


def _evaluate(simulate_one_pickled: bytes, seed: int) -> Any:
    """One evaluation on a worker: pyabc's proposal and the model, under ``seed``."""
    simulate_one = cloudpickle.loads(simulate_one_pickled)
    random.seed(seed)
    np.random.seed(seed)
    return simulate_one()


class SeededDaskSampler(Sampler):
    """ABC-SMC generations on a Dask client, each evaluation seeded by its place."""

    def __init__(self, client: Any, seed: int, jobs: int,
                 progress: Callable[[int, int, int], None] | None = None):
        super().__init__()
        self.client = client
        self.seed = seed
        self.jobs = jobs
        """Evaluations running at once (the workers' count)."""
        self.progress = progress
        """Called with (generation, accepted so far, evaluations so far) as results come."""

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,
                                all_accepted=False, ana_vars=None):
        from distributed import wait

        payload = cloudpickle.dumps(simulate_one)
        done: dict[int, Any] = {}  # job -> its particle
        running: dict[Any, int] = {}  # future -> job
        next_job = 0
        last = None  # the job of the n-th acceptance (in job order), once known
        while True:
            accepted = sorted(j for j, particle in done.items() if particle.accepted)
            if len(accepted) >= n:
                last = accepted[n - 1]
            if last is not None:
                for future, job in list(running.items()):
                    if job > last:
                        future.cancel()
                        del running[future]
                if all(job in done for job in range(last + 1)):
                    break
            while last is None and len(running) < self.jobs:
                future = self.client.submit(_evaluate, payload,
                                            job_seed(self.seed, t, next_job), pure=False)
                running[future] = next_job
                next_job += 1
            finished, _ = wait(list(running), return_when="FIRST_COMPLETED")
            for future in finished:
                job = running.pop(future)
                done[job] = future.result()
            if self.progress is not None:
                self.progress(t, sum(1 for p in done.values() if p.accepted), len(done))
        sample = self._create_empty_sample()
        for job in range(last + 1):
            sample.append(done[job])
        self.nr_evaluations_ = last + 1
        return sample
