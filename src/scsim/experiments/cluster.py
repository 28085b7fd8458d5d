"""Where many runs execute: an embedded Dask LocalCluster, or an existing cluster.

The embedded cluster listens on 127.0.0.1 only, and speaks TLS with a
certificate made for it in memory (``local_security``): a process without it,
such as another user's on the same machine, is refused. An existing cluster
(``--scheduler``) is trusted: Dask unpickles what its scheduler sends, so a
scheduler can run code as the user who connects to it. Before connecting, the
address is checked (tcp:// or tls://) and the server must answer like a Dask
scheduler within the timeout.

The local cluster has one worker process per core (``--workers``, or the environment's
``SCSIM_WORKERS``) with one thread each and
numba's thread count set to 1 in every worker (results never depend on it).
Kernels are compiled once in the coordinator before fanning out, so workers
load them from numba's cache instead of compiling at once (parallel first
compilations can corrupt the cache).

Each experiment starts its embedded cluster and stops it when done, unless it runs inside
``embedded_clusters_kept()``: there the experiments of one process (a notebook's series,
the test suite) share one embedded cluster per worker count, started on first use and
stopped on leaving, so that each pays no start-up of its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from scsim.errors import ScsimError


class ClusterError(ScsimError):
    """No cluster could be reached or started; the message says why in one line."""


WORKERS_ENV = "SCSIM_WORKERS"
MAX_WORKERS = 256


def default_workers() -> int:
    """Worker processes of the embedded cluster when ``--workers`` is not given: the
    environment's ``SCSIM_WORKERS``, else one per core (results never depend on it)."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if not text:
        return os.cpu_count() or 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
        raise ClusterError(f"{WORKERS_ENV}={text!r}: give a whole number of worker processes "
                           f"from 1 to {MAX_WORKERS}, or unset it for one per core")
    return int(text)


PROTOCOLS = ("tcp", "tls")
MAX_HANDSHAKE_BYTES = 1 << 16
"""A Dask scheduler's first message (its handshake) is a few dozen bytes."""


def scheduler_address(text: str) -> tuple[str, str, int]:
    """``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (a bare HOST:PORT is tcp) as (protocol,
    host, port); anything else is a ClusterError naming what is wrong."""
    from urllib.parse import urlsplit

    protocol, sep, _ = text.partition("://")
    url = text if sep else f"tcp://{text}"
    protocol = protocol if sep else "tcp"
    if protocol not in PROTOCOLS:
        raise ClusterError(f"--scheduler {text}: {protocol}:// is not supported; give "
                           "tcp://HOST:PORT, or tls://HOST:PORT with Dask's TLS configuration")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ClusterError(f"--scheduler {text}: not an address ({exc})") from None
    if (not host or port is None or parts.path not in ("", "/") or parts.query
            or parts.fragment or parts.username is not None):
        raise ClusterError(f"--scheduler {text}: expected {protocol}://HOST:PORT")
    return protocol, host, port


def _client_security(protocol: str, address: str) -> Any:
    """Dask's security settings (from its configuration): TLS credentials for tls://."""
    from distributed.security import Security

    security = Security()
    if protocol == "tls" and security.get_connection_args("client").get("ssl_context") is None:
        raise ClusterError(f"--scheduler {address}: tls:// needs the client's TLS credentials "
                           "in Dask's configuration (distributed.comm.tls.ca-file, "
                           "distributed.comm.tls.client.cert and .key)")
    return security


def probe_scheduler(address: str, security: Any, timeout_s: float) -> None:
    """Check, within ``timeout_s`` in all, that a Dask scheduler answers at ``address``: it
    sends its handshake first, a small framed message, which is read and decoded here. A
    server that accepts and stays silent, or that says something else, is refused before
    Dask's client would wait on it forever or trust a length it sent."""
    import socket
    import ssl
    import struct
    import time

    protocol, host, port = scheduler_address(address)
    deadline = time.monotonic() + timeout_s

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining

    try:
        sock = socket.create_connection((host, port), timeout=left())
    except (OSError, TimeoutError) as exc:
        reason = (" ".join(str(exc).split()) or type(exc).__name__) if isinstance(
            exc, OSError) else f"no connection within {timeout_s:g} s"
        raise ClusterError(f"--scheduler {address}: cannot connect ({reason})") from None
    try:
        if protocol == "tls":
            context = security.get_connection_args("client")["ssl_context"]
            sock.settimeout(left())
            sock = context.wrap_socket(sock, server_hostname=host)

        def read(n: int) -> bytes:
            data = b""
            while len(data) < n:
                sock.settimeout(left())
                chunk = sock.recv(n - len(data))
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                data += chunk
            return data

        (size,) = struct.unpack("<Q", read(8))
        if size > MAX_HANDSHAKE_BYTES:
            raise ValueError("its first message is not a Dask handshake")
        import msgpack
        from distributed.protocol.utils import unpack_frames

        frames = unpack_frames(read(size))
        message = msgpack.loads(frames[0], use_list=False) if len(frames) == 1 else None
        if not isinstance(message, dict) or "python" not in message:
            raise ValueError("its first message is not a Dask handshake")
    except TimeoutError:
        raise ClusterError(f"--scheduler {address}: the server accepted the connection but "
                           f"sent nothing within {timeout_s:g} s; is it a Dask scheduler?") \
            from None
    except ssl.SSLError as exc:
        raise ClusterError(f"--scheduler {address}: TLS handshake failed ({exc.reason or exc})") \
            from None
    except (OSError, ValueError, TypeError, KeyError, IndexError, struct.error) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(f"--scheduler {address}: not a Dask scheduler ({reason})") from None
    except Exception as exc:  # anything the decoder makes of bytes that are not Dask's
        raise ClusterError(f"--scheduler {address}: not a Dask scheduler "
                           f"({type(exc).__name__})") from None
    finally:
        sock.close()


def local_security() -> Any:
    """Credentials that exist only in this process and the workers it starts: the embedded
    cluster speaks TLS with a certificate made for it, so no other user (nor any other
    process of this one) can connect to it and have it run their code."""
    from distributed.security import Security

    return Security.temporary()


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None,
                connect_timeout_s: float = 10.0) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` (tcp:// or tls://HOST:PORT), or on an
    embedded cluster that only this process can reach."""
    from distributed import Client

    from scsim.engine.warmup import warm_up

    if scheduler is not None:
        protocol, _, _ = scheduler_address(scheduler)
        security = _client_security(protocol, scheduler)
        probe_scheduler(scheduler, security, connect_timeout_s)
        address = scheduler if "://" in scheduler else f"tcp://{scheduler}"
        try:
            client = Client(address, timeout=f"{connect_timeout_s}s", security=security)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ClusterError(f"--scheduler {scheduler}: cannot connect ({reason})") from None
        warm_up()  # compile (or load) the kernels here, once, before any worker needs them
        try:
            yield client
        finally:
            client.close()
        return
    warm_up()
    n = workers or default_workers()
    cluster = _kept.get(n) if _kept is not None else None
    if cluster is None or cluster.status.name != "running":
        cluster = _start_embedded(n)
        if _kept is not None:
            _kept[n] = cluster
    try:
        with Client(cluster) as client:
            yield client
    finally:
        if _kept is None:
            cluster.close()


def _start_embedded(n: int) -> Any:
    """A LocalCluster of ``n`` worker processes that only this process can reach."""
    import logging

    import dask
    from distributed import LocalCluster

    # Dask's HTTP servers (metrics, task and worker information) answer anyone who asks:
    # they are left with no routes at all, on a port of their own on 127.0.0.1
    with dask.config.set({"distributed.scheduler.http.routes": [],
                          "distributed.worker.http.routes": []}):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                            host="127.0.0.1", protocol="tls://", security=local_security(),
                            dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
                            env={"NUMBA_NUM_THREADS": "1"})


_kept: dict[int, Any] | None = None
"""Inside ``embedded_clusters_kept``: the embedded clusters started there, by worker count."""


@contextlib.contextmanager
def embedded_clusters_kept() -> Iterator[None]:
    """Inside it, experiments share one embedded cluster per worker count (started on first
    use, stopped on leaving) instead of starting and stopping one each: a worker costs a few
    CPU-seconds to start and to load the kernels.  Results do not depend on it."""
    global _kept
    if _kept is not None:  # (already inside one: the outer one stops them)
        yield
        return
    _kept = {}
    try:
        yield
    finally:
        kept, _kept = _kept, None
        for cluster in kept.values():
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
