"""Who may use the cluster: the embedded one refuses every client without its credentials,
and a --scheduler address must be one scsim supports and answer like a Dask scheduler
within the timeout; anything else is one line, never a hang or a traceback.

Servers started here listen on 127.0.0.1 only and are stopped by the test that started them.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scsim.cli import app
from scsim.experiments.cluster import ClusterError, open_client, probe_scheduler

from conftest import R0

runner = CliRunner()


def _client_ids(dask_scheduler) -> list[str]:
    return [name for name in dask_scheduler.clients if name != "fire-and-forget"]


def test_the_embedded_cluster_refuses_a_client_without_its_credentials():
    from distributed import Client
    from distributed.security import Security

    with open_client(workers=1) as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        assert client.submit(sum, [1, 2]).result(timeout=60) == 3  # its own client works
        attempts = {
            "no credentials": lambda: Client(address, timeout="3s"),
            "plain tcp": lambda: Client(address.replace("tls://", "tcp://"), timeout="3s"),
            "other credentials": lambda: Client(address, timeout="3s",
                                                security=Security.temporary()),
        }
        for name, attempt in attempts.items():
            with pytest.raises(Exception) as refused:
                foreign = attempt()
                foreign.close()
            # Refused by the connection, not by a slip of this test's own code.  (Dask itself
            # sometimes reports a handshake broken off by the scheduler as a bare
            # AssertionError from inside Client(): that is a refusal too.)
            assert not isinstance(refused.value, AssertionError) or any(
                "/distributed/" in str(entry.path) for entry in refused.traceback), name
        # whatever the client side said, the scheduler has only its own client
        assert client.run_on_scheduler(_client_ids) == [client.id]
        # and a raw connection learns nothing: the scheduler speaks only after TLS
        host, port = address.removeprefix("tls://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=3) as raw:
            raw.settimeout(1)
            with contextlib.suppress(TimeoutError, OSError):
                assert raw.recv(64) == b""


def test_kept_embedded_clusters_are_shared_and_stopped_on_leaving(monkeypatch):
    """Outside ``embedded_clusters_kept`` each experiment's cluster stops with it; inside, the
    experiments of the process share one per worker count, which stops on leaving."""
    from scsim.experiments import cluster

    monkeypatch.setattr(cluster, "_kept", None)  # (the suite's own sharing set aside)

    def used() -> tuple[str, object]:
        with open_client(workers=1) as client:
            assert client.submit(sum, [1, 2]).result(timeout=60) == 3
            return client.scheduler.address, client.cluster

    first, alone = used()
    assert alone.status.name == "closed" and used()[0] != first
    with cluster.embedded_clusters_kept():
        (a, kept), (b, again) = used(), used()
        assert a == b and kept is again and kept.status.name == "running"
        with cluster.embedded_clusters_kept():  # (nested: the outer one stops it)
            assert used()[0] == a
        assert kept.status.name == "running"
    assert kept.status.name == "closed" and cluster._kept is None


@contextlib.contextmanager
def fake_server(behaviour):
    """A TCP server on 127.0.0.1 that treats each connection with ``behaviour``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            held.append(connection)
            with contextlib.suppress(OSError):
                behaviour(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


BEHAVIOURS = {
    "accepts and stays silent": (lambda c: None, "sent nothing within 1 s"),
    "speaks another protocol first": (lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n"),
                                      "not a Dask scheduler"),
    "announces a frame of exbibytes": (lambda c: c.sendall(struct.pack("<Q", 2**61) + b"x"),
                                       "not a Dask scheduler"),
    "sends a small frame that is not Dask's": (
        lambda c: c.sendall(struct.pack("<Q", 10) + b"\x00" * 10), "not a Dask scheduler"),
    "closes at once": (lambda c: c.close(), "not a Dask scheduler"),
}


@pytest.mark.parametrize("case", list(BEHAVIOURS))
def test_a_server_that_is_not_a_dask_scheduler_is_refused_in_time(case):
    behaviour, message = BEHAVIOURS[case]
    with fake_server(behaviour) as address:
        started = time.monotonic()
        with pytest.raises(ClusterError, match=message):
            probe_scheduler(address, None, timeout_s=1.0)
        assert time.monotonic() - started < 3  # the timeout covers the whole handshake


@pytest.mark.parametrize("address, message", [
    ("ucx://127.0.0.1:8786", "ucx:// is not supported; give tcp://HOST:PORT"),
    ("inproc://x", "inproc:// is not supported"),
    ("tls://127.0.0.1:8786", "tls:// needs the client's TLS credentials in Dask's "
                             "configuration"),
    ("tcp://127.0.0.1", "expected tcp://HOST:PORT"),
    ("tcp://127.0.0.1:99999", "not an address"),
    ("tcp://user@127.0.0.1:8786", "expected tcp://HOST:PORT"),
    ("tcp://127.0.0.1:9/path", "expected tcp://HOST:PORT"),
    ("tcp://127.0.0.1:9", "cannot connect"),
])
def test_scheduler_addresses_scsim_cannot_use_get_one_line(tmp_path, address, message):
    out = tmp_path / "sweep"
    result = runner.invoke(app, ["sweep", str(R0), "--vary",
                                 "measures.travel_ban.daily_trip_rate=0.01:0.1", "--out",
                                 str(out), "--population", "1000", "--days", "5", "--quiet",
                                 "--scheduler", address])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not out.exists()


def test_a_silent_server_on_the_command_line_fails_within_its_timeout(tmp_path):
    out = tmp_path / "ensemble"
    with fake_server(lambda c: None) as address:
        started = time.monotonic()
        result = runner.invoke(app, ["ensemble", str(R0), "--replicates", "2", "--out",
                                     str(out), "--population", "1000", "--days", "5",
                                     "--quiet", "--scheduler", address])
        assert time.monotonic() - started < 30
    assert result.exit_code == 2 and "sent nothing within 10 s" in result.stderr, result.output
    assert not out.exists()


def test_tls_with_credentials_in_dasks_configuration_connects(tmp_path):
    """tls://, with the client's credentials from Dask's configuration, reaches a scheduler
    that requires them (here one started in this process)."""
    import dask
    from distributed import LocalCluster
    from distributed.security import Security

    security = Security.temporary()
    files = {}
    for name, text in (("ca", security.tls_ca_file), ("cert", security.tls_client_cert),
                       ("key", security.tls_client_key)):
        files[name] = Path(tmp_path / f"{name}.pem")
        files[name].write_text(text)
    config = {"distributed.comm.tls.ca-file": str(files["ca"]),
              "distributed.comm.tls.client.cert": str(files["cert"]),
              "distributed.comm.tls.client.key": str(files["key"]),
              "distributed.comm.require-encryption": True}
    with (LocalCluster(n_workers=0, processes=False, protocol="tls://", host="127.0.0.1",
                       security=security, dashboard_address=None) as cluster,
          dask.config.set(config),
          open_client(cluster.scheduler_address, connect_timeout_s=10) as client):
        assert client.scheduler.address == cluster.scheduler_address
