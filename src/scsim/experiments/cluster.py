"""Where many runs execute: an embedded Dask LocalCluster, or an existing cluster.

The local cluster has one worker process per core with one thread each and
numba's thread count set to 1 in every worker (results never depend on it).
Kernels are compiled once in the coordinator before fanning out, so workers
load them from numba's cache instead of compiling at once (parallel first
compilations can corrupt the cache).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any


class ClusterError(Exception):
    """No cluster could be reached or started; the message says why in one line."""


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None,
                connect_timeout_s: float = 10.0) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` (tcp://HOST:PORT) or an embedded cluster."""
    import logging

    from distributed import Client, LocalCluster

    from scsim.engine.warmup import warm_up

    warm_up()  # compile (or load) the kernels here, once, before any worker needs them
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{connect_timeout_s}s")
        except (OSError, TimeoutError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ClusterError(f"--scheduler {scheduler}: cannot connect ({reason})") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address="127.0.0.1:0", host="127.0.0.1",
                           silence_logs=logging.ERROR, env={"NUMBA_NUM_THREADS": "1"})
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def run_tasks(client: Any, tasks: list[dict[str, Any]],
              done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run every task on the cluster; results in the order of ``tasks`` (each also passed to
    ``done`` as it finishes, for progress)."""
    from distributed import as_completed

    from scsim.experiments.tasks import run_task

    if not tasks:
        return []
    futures = client.map(run_task, tasks, pure=False)
    index = {future.key: k for k, future in enumerate(futures)}
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    for future in as_completed(futures):
        try:
            result = future.result()
        except Exception as exc:  # the worker died: record it and go on
            k = index[future.key]
            result = {"out": tasks[k]["out"], "ok": False, "error": f"worker lost: {exc}",
                      "totals": None, "replicate": tasks[k]["replicate"],
                      "point": tasks[k]["point"], "wall_s": None}
        results[index[future.key]] = result
        if done is not None:
            done(result)
    return results  # type: ignore[return-value]
