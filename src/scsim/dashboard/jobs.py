"""Runs launched from the browser, in a worker process of their own.

The worker loads the universal kernel once, before the first launch, and
then runs one scenario at a time into the registry, telling its progress.
Cancelling ends the worker with SIGTERM, which it turns into the same
interruption as Ctrl-C on ``scsim run``: the half-written run folder (a
hidden one, which the registry never lists) is removed, so nothing half
written is left.  A new worker then starts for the next launch.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import queue
import threading
import time
from pathlib import Path
from typing import Any

CHUNK = 20_000
"""Citizens per kernel call in the worker: progress is told after each (results do not depend
on it), and a cancel takes effect at the next."""


def _interrupt_on_sigterm() -> None:
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


SECONDS_TO_END = 30
"""How long a worker whose server has gone may take to remove its partial run folder."""


def _end_with_the_server() -> None:
    """End the worker when the server's process ends, however it ends: a daemon process is
    stopped only by a parent that exits normally, and a killed server would leave it behind.
    The worker is sent SIGTERM, as a cancel does, so a partial run folder is removed."""
    import os
    import signal

    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(SECONDS_TO_END)
        os._exit(1)  # (still here: stuck in a kernel call that never returns to Python)

    threading.Thread(target=watch, daemon=True, name="end-with-the-server").start()


def _work(tasks: Any, events: Any, warm: dict[str, Any]) -> None:
    """The worker's loop: warm the universal kernel, then run each task it is given."""
    _interrupt_on_sigterm()
    _end_with_the_server()
    from scsim.engine.warmup import warm_up
    from scsim.runner import run_to_folder
    from scsim.scenario.load import validate_scenario
    from scsim.scenario.pairing import Counterfactual

    try:
        warm_up(validate_scenario(warm, "warm-up").scenario, None, "universal")
        events.put(("ready", None, None))
        while True:
            task = tasks.get()
            if task is None:
                return
            job, started = task["job"], time.perf_counter()
            try:
                loaded = dataclasses.replace(validate_scenario(task["scenario"], task["source"]),
                                             declared_size=task["declared"])
                cf = validate_scenario(task["counterfactual"], task["label"])
                pairing = Counterfactual(cf.scenario, task["label"], cf.sha256)
                size = loaded.scenario.population.size

                def progress(done: int, job=job, size=size) -> None:
                    events.put(("progress", job, done / size))

                run_to_folder(loaded, Path(task["out"]), counterfactual=pairing,
                              chunk_size=CHUNK, progress=progress, kernel="universal")
                events.put(("done", job, time.perf_counter() - started))
            except Exception as exc:  # a failed run is told, never fatal to the worker
                events.put(("failed", job, f"{type(exc).__name__}: {exc}".splitlines()[0]))
    except KeyboardInterrupt:
        return


@dataclasses.dataclass
class Job:
    """A launch, as the page shows it."""

    number: int
    out: Path
    state: str = "waiting"  # waiting, running, done, failed, cancelled
    fraction: float = 0.0
    message: str = ""
    seconds: float | None = None


class Launcher:
    """One worker process and the job it runs (one at a time)."""

    def __init__(self, warm: dict[str, Any]):
        self._warm = warm
        self._context = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._process = None
        self._tasks = self._events = None
        self._ready = False
        self.job: Job | None = None
        self._count = 0

    def _start(self) -> None:
        self._tasks, self._events = self._context.Queue(), self._context.Queue()
        self._process = self._context.Process(target=_work, args=(
            self._tasks, self._events, self._warm), daemon=True, name="scsim-dashboard-runs")
        self._process.start()
        self._ready = False

    def start(self) -> None:
        """Start the worker (and warm its kernel) before anyone launches."""
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()

    def launch(self, loaded, pairing, out: Path) -> Job:
        """Run ``loaded`` paired with ``pairing`` into ``out`` (RuntimeError while another
        job runs)."""
        with self._lock:
            self._drain()
            if self.job is not None and self.job.state in ("waiting", "running"):
                raise RuntimeError("a run is already going: wait for it, or cancel it")
            if self._process is None or not self._process.is_alive():
                self._start()
            self._count += 1
            self.job = Job(self._count, out)
            self._tasks.put({
                "job": self._count, "scenario": loaded.scenario.model_dump(mode="json"),
                "source": loaded.source, "declared": loaded.declared_size,
                "counterfactual": pairing.scenario.model_dump(mode="json"),
                "label": pairing.label, "out": str(out)})
            return self.job

    def _drain(self) -> None:
        """Take in what the worker has told."""
        if self._events is None:
            return
        while True:
            try:
                kind, job, value = self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            if kind == "ready":
                self._ready = True
                continue
            if self.job is None or job != self.job.number or self.job.state == "cancelled":
                continue
            if kind == "progress":
                self.job.state, self.job.fraction = "running", value
            elif kind == "done":
                self.job.state, self.job.fraction, self.job.seconds = "done", 1.0, value
            elif kind == "failed":
                self.job.state, self.job.message = "failed", value

    def poll(self) -> Job | None:
        """The job as it stands now."""
        with self._lock:
            self._drain()
            if (self.job is not None and self.job.state in ("waiting", "running")
                    and (self._process is None or not self._process.is_alive())):
                self.job.state, self.job.message = "failed", "the worker process ended"
            return self.job

    def cancel(self) -> None:
        """End the running job: the worker is stopped (its partial folder removed) and a
        fresh one started."""
        with self._lock:
            if self.job is None or self.job.state not in ("waiting", "running"):
                return
            self.job.state = "cancelled"
            process = self._process
            if process is not None and process.is_alive():
                process.terminate()  # SIGTERM: the run's interruption, its partial removed
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()
                    process.join()
            self._start()

    def stop(self) -> None:
        with self._lock:
            if self._process is not None and self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=10)
