"""Sync client and worker against a real gearmand: states, bytes, callbacks, batches, threads."""

from __future__ import annotations

import socket
import threading

import pytest

from django_gearman.protocol import (
    AdminClient,
    Client,
    JobRequest,
    JobTimeout,
    NoServerAvailable,
    PacketParser,
    PacketType,
    Priority,
    ProtocolError,
    WorkerJob,
    WorkException,
)
from django_gearman.protocol.packets import Frame, encode_packet
from tests.protocol.conftest import echo, reverse


def fail_with_runtime_error(job: WorkerJob) -> bytes:
    raise RuntimeError("boom " + job.data.decode())


def raise_work_exception(job: WorkerJob) -> bytes:
    raise WorkException(b"bad input: " + job.data)


def return_wrong_type(job: WorkerJob) -> object:
    return {"not": "bytes"}


def return_none(job: WorkerJob) -> None:
    return None


def return_str(job: WorkerJob) -> str:
    return "héllo " + job.data.decode()


def progress(job: WorkerJob) -> bytes:
    job.send_status(1, 3)
    job.send_data(b"chunk-1")
    job.send_warning(b"careful")
    job.send_status(3, 3)
    job.send_data(b"chunk-2")
    return b"done:" + job.data


FUNCTIONS = {
    "reverse": reverse,
    "echo": echo,
    "runtime_error": fail_with_runtime_error,
    "work_exception": raise_work_exception,
    "wrong_type": return_wrong_type,
    "none": return_none,
    "text": return_str,
    "progress": progress,
}


@pytest.fixture
def served(gearmand, start_worker, client_factory):
    start_worker(gearmand.address, FUNCTIONS)
    return client_factory(gearmand.address)


def test_foreground_result_is_the_callbacks_return_value(served):
    result = served.submit("reverse", b"abc", timeout=10)
    assert result.state == "complete"
    assert result.result == b"cba"
    assert result.handle and result.handle.startswith(b"H:")
    assert result.ok


def test_str_and_none_returns(served):
    assert served.submit("text", b"x", timeout=10).result == "héllo x".encode()
    assert served.submit("none", b"x", timeout=10).result == b""


@pytest.mark.parametrize(
    "payload",
    [b"", b"\0", b"a\0b\0", b"\xff" * 10, bytes(range(256)), bytes(range(256)) * 4096],
    ids=["empty", "nul", "nuls", "ff", "all-256", "1MiB"],
)
def test_bytes_pass_intact(served, payload):
    result = served.submit("echo", payload, timeout=30)
    assert result.result == payload
    assert served.submit("reverse", payload, timeout=30).result == payload[::-1]


def test_other_exception_is_work_fail_and_worker_survives(served):
    assert served.submit("runtime_error", b"x", timeout=10).state == "failed"
    assert served.submit("reverse", b"still alive", timeout=10).result == b"evila llits"


def test_unsupported_return_type_is_work_fail_and_worker_survives(served):
    assert served.submit("wrong_type", b"x", timeout=10).state == "failed"
    assert served.submit("reverse", b"ok", timeout=10).result == b"ko"


def test_work_exception_reaches_the_client_and_ends_the_job(served, gearmand):
    result = served.submit("work_exception", b"q", timeout=10)
    assert result.state == "exception"
    assert result.exception == b"bad input: q"
    assert not result.ok
    # gearmand 1.1.20 ends the job on WORK_EXCEPTION alone: nothing left queued or running.
    with AdminClient(gearmand.address) as admin:
        status = {s.function: s for s in admin.status()}
    assert status["work_exception"].queued == 0
    assert status["work_exception"].running == 0
    assert served.submit("reverse", b"next", timeout=10).result == b"txen"


def test_client_without_exceptions_option_sees_work_fail(served, gearmand):
    """What a legacy client sees: gearmand converts WORK_EXCEPTION to WORK_FAIL for it."""
    parser = PacketParser()
    with socket.create_connection(("127.0.0.1", gearmand.port), timeout=10) as sock:
        sock.sendall(encode_packet(PacketType.SUBMIT_JOB, (b"work_exception", b"", b"z")))
        packets: list[Frame] = []
        while len(packets) < 2:
            data = sock.recv(65536)
            assert data, "gearmand closed the connection"
            parser.feed(data)
            packets.extend(parser.packets())
    assert [p.type for p in packets] == [PacketType.JOB_CREATED, PacketType.WORK_FAIL]
    assert packets[1].args[0].rstrip(b"\0") == packets[0].args[0]


def test_status_data_and_warning_callbacks_in_order(served):
    events: list[tuple[str, object]] = []
    result = served.submit(
        "progress",
        b"p",
        timeout=10,
        on_status=lambda n, d: events.append(("status", (n, d))),
        on_data=lambda b: events.append(("data", b)),
        on_warning=lambda b: events.append(("warning", b)),
    )
    assert result.result == b"done:p"
    assert result.status == (3, 3)
    assert events == [
        ("status", (1, 3)),
        ("data", b"chunk-1"),
        ("warning", b"careful"),
        ("status", (3, 3)),
        ("data", b"chunk-2"),
    ]


def test_a_failing_callback_does_not_lose_the_result(served):
    def broken(*_: object) -> None:
        raise ValueError("callback bug")

    result = served.submit("progress", b"p", timeout=10, on_status=broken, on_data=broken)
    assert result.result == b"done:p"


def test_background_job_and_get_status(gearmand, client_factory, start_worker):
    client = client_factory(gearmand.address)
    queued = client.submit("later", b"x", background=True, timeout=10)
    assert queued.state == "queued"
    assert queued.result == b""
    status = client.get_status(queued, timeout=10)
    assert status.known and not status.running
    assert status.handle == queued.handle
    runner = start_worker(gearmand.address, {"later": echo}, max_jobs=1)
    runner.join()
    assert runner.done == 1
    after = client.get_status(queued.handle, timeout=10)
    assert not after.known


def test_priorities_are_served_high_first(gearmand, client_factory, start_worker):
    client = client_factory(gearmand.address)
    order: list[bytes] = []
    requests = [
        JobRequest("prio", b"low", priority=Priority.LOW, background=True),
        JobRequest("prio", b"normal", priority=Priority.NORMAL, background=True),
        JobRequest("prio", b"high", priority=Priority.HIGH, background=True),
    ]
    assert [r.state for r in client.submit_many(requests, timeout=10)] == ["queued"] * 3
    with AdminClient(gearmand.address) as admin:
        (prio,) = [p for p in admin.priority_status() if p.function == "prio"]
    assert (prio.high, prio.normal, prio.low) == (1, 1, 1)

    def record(job: WorkerJob) -> bytes:
        order.append(job.data)
        return b""

    start_worker(gearmand.address, {"prio": record}, max_jobs=3).join()
    assert order == [b"high", b"normal", b"low"]


@pytest.mark.parametrize("priority", list(Priority))
def test_foreground_priorities_complete(served, priority):
    assert served.submit("reverse", b"ab", priority=priority, timeout=10).result == b"ba"


def test_submit_many_keeps_request_order_and_matches_inputs(served):
    requests = [JobRequest("reverse", b"job-%d" % i) for i in range(200)]
    results = served.submit_many(requests, timeout=30)
    assert [r.state for r in results] == ["complete"] * 200
    assert [r.result for r in results] == [(b"job-%d" % i)[::-1] for i in range(200)]
    assert len({r.handle for r in results}) == 200


def test_same_unique_twice_in_one_batch_coalesces_and_both_get_the_result(
    gearmand, client_factory, start_worker
):
    calls: list[bytes] = []

    def counted(job: WorkerJob) -> bytes:
        calls.append(job.unique)
        return b"result-for-" + job.data

    client = client_factory(gearmand.address)
    # Submit before any worker exists so both submissions meet in the queue.
    results: list = []
    submitter = threading.Thread(
        target=lambda: results.extend(
            client.submit_many(
                [
                    JobRequest("coalesce", b"A", unique="same-key"),
                    JobRequest("coalesce", b"A", unique="same-key"),
                    JobRequest("coalesce", b"B", unique="other-key"),
                ],
                timeout=20,
            )
        )
    )
    submitter.start()
    runner = start_worker(gearmand.address, {"coalesce": counted})
    submitter.join(30)
    runner.stop()
    assert [r.result for r in results] == [b"result-for-A", b"result-for-A", b"result-for-B"]
    assert results[0].handle == results[1].handle != results[2].handle
    assert sorted(calls) == [b"other-key", b"same-key"]


def test_unique_coalesces_across_threads(gearmand, client_factory, start_worker):
    client = client_factory(gearmand.address)
    calls: list[bytes] = []
    gate = threading.Event()

    def slow(job: WorkerJob) -> bytes:
        calls.append(job.data)
        gate.wait(10)
        return b"shared"

    start_worker(gearmand.address, {"slow": slow})
    outcomes: list = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(client.submit("slow", b"x", unique="k", timeout=20))
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for _ in range(500):  # bounded wait until the one job is running
        if calls:
            break
        threading.Event().wait(0.01)
    threading.Event().wait(0.2)  # let the other submissions reach the server
    gate.set()
    for thread in threads:
        thread.join(30)
    assert [o.result for o in outcomes] == [b"shared"] * 4
    assert len(calls) == 1


def test_many_threads_each_get_their_own_results(served):
    errors: list[str] = []

    def run(thread_no: int) -> None:
        for job_no in range(50):
            payload = b"t%d-j%d" % (thread_no, job_no)
            result = served.submit("reverse", payload, timeout=60)
            if result.result != payload[::-1]:
                errors.append(f"{payload!r} got {result.result!r}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_job_timeout_when_no_worker_serves_the_function(gearmand, client_factory):
    client = client_factory(gearmand.address)
    with pytest.raises(JobTimeout):
        client.submit("nobody-serves-this", b"x", timeout=0.3)
    # The client stays usable afterwards (the timed-out connection was dropped, not reused).
    assert client.submit("nobody", b"x", background=True, timeout=5).state == "queued"


def test_submit_many_reports_timeouts_per_job(served):
    results = served.submit_many(
        [JobRequest("reverse", b"ok"), JobRequest("nobody-serves-this", b"x")], timeout=1
    )
    assert results[0].state in ("complete", "timeout")
    assert results[1].state == "timeout"
    assert isinstance(results[1].error, JobTimeout)
    with pytest.raises(JobTimeout):
        results[1].raise_for_error()


def test_no_server_available(client_factory):
    from tests.support.gearmand import free_port

    client = client_factory(f"127.0.0.1:{free_port()}", retries=1, backoff=0.01)
    with pytest.raises(NoServerAvailable):
        client.submit("fn", b"x", timeout=5)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"function": ""}, ValueError),
        ({"function": "f\0n"}, ProtocolError),
        ({"function": 42}, TypeError),
        ({"function": "f", "data": 3.5}, TypeError),
        ({"function": "f", "unique": "u\0"}, ProtocolError),
        ({"function": "f", "unique": "u" * 64}, ValueError),
        ({"function": "f", "timeout": 0}, ValueError),
        ({"function": "f", "timeout": -1}, ValueError),
        ({"function": "f", "priority": 7}, ValueError),
    ],
)
def test_bad_arguments_raise_typed_errors_before_any_io(kwargs, error):
    client = Client("127.0.0.1:1")
    with pytest.raises(error):
        client.submit(**kwargs)


def test_longest_unique_id_gearmand_keeps_is_accepted_and_coalesces(served):
    key = "k" * 63
    results = served.submit_many(
        [JobRequest("reverse", b"ab", unique=key), JobRequest("reverse", b"ab", unique=key)],
        timeout=10,
    )
    assert [r.result for r in results] == [b"ba", b"ba"]
    assert results[0].unique == key.encode()


def test_connections_are_reused(served, gearmand):
    for i in range(20):
        served.submit("reverse", b"%d" % i, timeout=10)
    with AdminClient(gearmand.address) as admin:
        # one admin, one worker, one client connection
        assert len(admin.workers()) == 3


def test_a_forked_child_does_not_share_pooled_sockets_with_its_parent(served):
    import os
    import time

    assert served.submit("reverse", b"parent-1", timeout=10).result == b"1-tnerap"
    (parent_conn,) = served._pools[0].idle
    parent_port = parent_conn.sock.getsockname()[1]
    pid = os.fork()
    if pid == 0:  # child: must open its own connection, and get its own result
        code = 1
        try:
            ok = served.submit("reverse", b"child", timeout=10).result == b"dlihc"
            (child_conn,) = served._pools[0].idle
            own = child_conn.sock.getsockname()[1] != parent_port
            code = 0 if ok and own else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("forked child did not finish in time")
    assert os.waitstatus_to_exitcode(status) == 0
    assert served.submit("reverse", b"parent-2", timeout=10).result == b"2-tnerap"
    assert served._pools[0].idle[0] is parent_conn  # the parent's socket is still the parent's
