"""Several servers: rotation, failover, OutcomeUnknown for in-flight jobs, reconnects."""

from __future__ import annotations

import threading

import pytest

from django_gearman.protocol import (
    AdminClient,
    JobRequest,
    NoServerAvailable,
    OutcomeUnknown,
    WorkerJob,
)
from tests.protocol.conftest import reverse


def running_jobs(address: str) -> int:
    with AdminClient(address, timeout=5) as admin:
        return sum(s.running for s in admin.status())


def test_jobs_rotate_over_servers(two_gearmands, start_worker, client_factory):
    a, b = two_gearmands
    start_worker([a.address, b.address])
    client = client_factory([a.address, b.address])
    servers = {client.submit("reverse", b"%d" % i, timeout=10).server for i in range(10)}
    assert servers == {a.address, b.address}


def test_same_unique_always_goes_to_the_same_server(two_gearmands, start_worker, client_factory):
    a, b = two_gearmands
    start_worker([a.address, b.address])
    client = client_factory([a.address, b.address])
    for key in ("k1", "k2", "k3"):
        servers = {client.submit("reverse", b"x", unique=key, timeout=10).server for _ in range(4)}
        assert len(servers) == 1


def test_killed_server_with_job_in_flight_gives_outcome_unknown_then_failover(
    two_gearmands, start_worker, client_factory
):
    a, b = two_gearmands
    gate = threading.Event()
    started = threading.Event()

    def slow(job: WorkerJob) -> bytes:
        started.set()
        gate.wait(10)
        return job.data

    start_worker([a.address, b.address], {"slow": slow, "reverse": reverse})
    client = client_factory([a.address, b.address], retries=2, backoff=0.01)
    outcome: list[object] = []

    def submit() -> None:
        try:
            outcome.append(client.submit("slow", b"in-flight", timeout=20))
        except Exception as exc:
            outcome.append(exc)

    submitter = threading.Thread(target=submit)
    submitter.start()
    assert started.wait(10)
    victim, survivor = (a, b) if running_jobs(a.address) else (b, a)
    victim.kill()
    submitter.join(20)
    gate.set()
    assert len(outcome) == 1
    assert isinstance(outcome[0], OutcomeUnknown), outcome
    # Later submissions go to the surviving server and succeed.
    for i in range(6):
        result = client.submit("reverse", b"after-%d" % i, timeout=10)
        assert result.result == (b"after-%d" % i)[::-1]
        assert result.server == survivor.address


def test_batch_with_dead_server_still_reports_the_live_ones(
    two_gearmands, start_worker, client_factory
):
    a, b = two_gearmands
    start_worker([a.address, b.address])
    client = client_factory([a.address, b.address], retries=0)
    b.kill()
    results = client.submit_many([JobRequest("reverse", b"%d" % i) for i in range(20)], timeout=10)
    assert [r.result for r in results] == [(b"%d" % i)[::-1] for i in range(20)]
    assert {r.server for r in results} == {a.address}


def test_all_servers_down_is_no_server_available(two_gearmands, client_factory):
    a, b = two_gearmands
    client = client_factory([a.address, b.address], retries=1, backoff=0.01)
    a.kill()
    b.kill()
    with pytest.raises(NoServerAvailable):
        client.submit("reverse", b"x", timeout=5)
    with pytest.raises(NoServerAvailable):
        client.submit_many([JobRequest("reverse", b"x")], timeout=5)


def test_pooled_connection_survives_a_server_restart(gearmand, start_worker, client_factory):
    start_worker(gearmand.address, backoff=0.05)
    client = client_factory(gearmand.address)
    assert client.submit("reverse", b"before", timeout=10).result == b"erofeb"
    gearmand.restart()
    # The idle pooled connection is stale: it is detected and replaced, not reported as unknown;
    # the worker reconnects by itself and serves the job.
    assert client.submit("reverse", b"after", timeout=15).result == b"retfa"


def test_worker_serves_every_server_at_once(two_gearmands, start_worker, client_factory):
    a, b = two_gearmands
    start_worker([a.address, b.address])
    for server in (a, b):
        client = client_factory(server.address)
        assert client.submit("reverse", b"from-" + server.address.encode(), timeout=10).ok


def test_worker_reconnects_when_a_server_starts_later(
    gearmand_factory, start_worker, client_factory
):
    server = gearmand_factory()
    server.stop()
    runner = start_worker(server.address, backoff=0.05, max_backoff=0.2)
    server.start()
    client = client_factory(server.address)
    assert client.submit("reverse", b"late", timeout=15).result == b"etal"
    runner.stop()


def test_background_jobs_survive_a_server_crash_only_with_a_persistent_queue(
    gearmand_factory, client_factory, tmp_path
):
    persistent = gearmand_factory(sqlite_db=tmp_path / "queue.sqlite")
    volatile = gearmand_factory()
    for server in (persistent, volatile):
        client_factory(server.address).submit("kept", b"x", background=True, timeout=10)
        server.kill()
        server.start()

    def queued(address: str) -> int:
        with AdminClient(address, timeout=5) as admin:
            return sum(s.queued for s in admin.status() if s.function == "kept")

    assert queued(persistent.address) == 1
    assert queued(volatile.address) == 0
