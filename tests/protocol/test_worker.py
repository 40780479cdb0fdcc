"""Worker behaviour: stop, max_jobs, (un)registration, client id, timeouts, dead workers."""

from __future__ import annotations

import os
import signal
import socket
import threading

import pytest

from django_gearman.protocol import (
    AdminClient,
    Client,
    JobRequest,
    JobTimeout,
    OutcomeUnknown,
    PacketParser,
    PacketType,
    Worker,
    WorkerJob,
)
from django_gearman.protocol.packets import encode_packet
from tests.protocol.conftest import RunningWorker, echo, reverse, wait_until


def test_max_jobs_returns_after_n_jobs(gearmand, start_worker, client_factory):
    client = client_factory(gearmand.address)
    client.submit_many(
        [JobRequest("reverse", b"%d" % i, background=True) for i in range(5)], timeout=10
    )
    runner = start_worker(gearmand.address, max_jobs=3)
    runner.join()
    assert runner.done == 3
    with AdminClient(gearmand.address) as admin:
        (status,) = [s for s in admin.status() if s.function == "reverse"]
    assert status.queued == 2  # the two jobs it did not take are still there


def test_stop_from_another_thread_finishes_the_current_job(gearmand, start_worker, client_factory):
    started = threading.Event()
    release = threading.Event()

    def slow(job: WorkerJob) -> bytes:
        started.set()
        release.wait(10)
        return b"finished:" + job.data

    runner = start_worker(gearmand.address, {"slow": slow})
    client = client_factory(gearmand.address)
    results: list = []
    submitter = threading.Thread(
        target=lambda: results.append(client.submit("slow", b"x", timeout=20))
    )
    submitter.start()
    assert started.wait(10)
    runner.worker.stop()
    assert runner.thread.is_alive()  # still inside the job
    release.set()
    runner.join()
    submitter.join(10)
    assert results[0].result == b"finished:x"
    assert runner.done == 1


def test_stop_from_a_signal_handler(gearmand):
    worker = Worker(gearmand.address)
    worker.register("reverse", reverse)
    previous = signal.signal(signal.SIGUSR1, lambda *_: worker.stop())
    sender = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1))
    safety = threading.Timer(20, worker.stop)  # the test can never hang
    try:
        sender.start()
        safety.start()
        assert worker.work() == 0
        assert safety.is_alive(), "work() returned only because of the safety timer"
    finally:
        sender.cancel()
        safety.cancel()
        signal.signal(signal.SIGUSR1, previous)
        worker.close()


def test_register_and_unregister_while_working(gearmand, start_worker, client_factory):
    runner = start_worker(gearmand.address, {"reverse": reverse}, client_id="worker-under-test")
    client = client_factory(gearmand.address)
    assert client.submit("reverse", b"ab", timeout=10).result == b"ba"
    runner.worker.register("echo", echo)
    assert client.submit("echo", b"ab", timeout=10).result == b"ab"

    def functions_of_worker() -> tuple[str, ...]:
        with AdminClient(gearmand.address) as admin:
            for info in admin.workers():
                if info.client_id == "worker-under-test":
                    return info.functions
        return ()

    assert sorted(functions_of_worker()) == ["echo", "reverse"]
    runner.worker.unregister("echo")
    assert wait_until(lambda: functions_of_worker() == ("reverse",))
    assert sorted(runner.worker.functions) == ["reverse"]


def test_can_do_timeout_requeues_and_the_client_times_out(gearmand, client_factory):
    """gearmand 1.1.20: a job past its CAN_DO_TIMEOUT is re-queued, not failed; the late
    WORK_COMPLETE is refused with ERROR JOB_NOT_FOUND. The client only sees its own timeout,
    and the worker keeps serving."""
    release = threading.Event()
    attempts: list[bytes] = []

    def too_slow(job: WorkerJob) -> bytes:
        attempts.append(job.handle)
        release.wait(10)
        return b"late"

    worker = Worker(gearmand.address)
    worker.register("too_slow", too_slow, timeout=1)
    worker.register("reverse", reverse)
    runner = RunningWorker(worker)
    try:
        client = client_factory(gearmand.address)
        with pytest.raises(JobTimeout):
            client.submit("too_slow", b"x", timeout=2.5)
        release.set()
        assert client.submit("reverse", b"alive", timeout=15).result == b"evila"
        assert attempts and len(set(attempts)) == 1  # the same job, handed out again
    finally:
        release.set()
        runner.stop()
        worker.close()


def test_job_of_a_dead_worker_is_requeued_to_another(gearmand, start_worker, client_factory):
    """Delivery guarantee: a worker that disconnects mid-job does not lose the job."""
    client = client_factory(gearmand.address)
    client.submit("reverse", b"survivor", background=True, timeout=10)
    with socket.create_connection(("127.0.0.1", gearmand.port), timeout=10) as dying:
        dying.sendall(
            encode_packet(PacketType.CAN_DO, (b"reverse",))
            + encode_packet(PacketType.GRAB_JOB_UNIQ)
        )
        parser = PacketParser()
        packets: list = []
        while not packets:
            data = dying.recv(65536)
            assert data
            parser.feed(data)
            packets = parser.packets()
        assert packets[0].type == PacketType.JOB_ASSIGN_UNIQ
    # The raw worker closed without answering; a real worker must now get the same job.
    seen: list[bytes] = []

    def record(job: WorkerJob) -> bytes:
        seen.append(job.data)
        return b""

    start_worker(gearmand.address, {"reverse": record}, max_jobs=1).join()
    assert seen == [b"survivor"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("", echo), ValueError),
        (("f\0", echo), ValueError),
        (("f", "not callable"), TypeError),
        (("f", echo, 0), ValueError),
        (("f", echo, 1.5), ValueError),
    ],
)
def test_bad_registrations_raise(args, error):
    worker = Worker("127.0.0.1:1")
    try:
        with pytest.raises(error):
            worker.register(*args)
    finally:
        worker.close()


def test_work_without_functions_and_bad_max_jobs():
    worker = Worker("127.0.0.1:1")
    try:
        with pytest.raises(ValueError):
            worker.work()
        worker.register("f", echo)
        with pytest.raises(ValueError):
            worker.work(max_jobs=0)
        with pytest.raises(ValueError):
            Worker("127.0.0.1:1", client_id="has space")
    finally:
        worker.close()


def test_progress_sent_after_the_server_died_does_not_kill_the_worker(
    gearmand, start_worker, client_factory
):
    started = threading.Event()
    release = threading.Event()

    def chatty(job: WorkerJob) -> bytes:
        started.set()
        release.wait(10)
        job.send_status(1, 2)  # the server is gone by now: logged, not raised
        job.send_data(b"x")
        return b"done"

    runner = start_worker(gearmand.address, {"chatty": chatty, "reverse": reverse}, backoff=0.05)
    client = client_factory(gearmand.address)
    outcome: list[BaseException] = []

    def submit() -> None:
        try:
            client.submit("chatty", b"x", timeout=10)
        except OutcomeUnknown as exc:
            outcome.append(exc)

    submitter = threading.Thread(target=submit)
    submitter.start()
    assert started.wait(10)
    gearmand.kill()
    submitter.join(10)
    assert len(outcome) == 1
    release.set()
    gearmand.start()
    assert client.submit("reverse", b"again", timeout=15).result == b"niaga"
    assert runner.thread.is_alive()


def test_stop_before_work_is_not_lost(gearmand):
    worker = Worker(gearmand.address)
    worker.register("reverse", reverse)
    try:
        worker.stop()
        assert worker.work() == 0  # returns at once instead of serving forever
        runner = RunningWorker(worker, max_jobs=1)  # and it can work again afterwards
        client = Client(gearmand.address)
        assert client.submit("reverse", b"ab", timeout=10).result == b"ba"
        runner.join()
        client.close()
    finally:
        worker.close()


def test_back_to_back_jobs_on_one_server_then_stop(gearmand, start_worker, client_factory):
    """One server: between jobs the worker waits for NOOP in recv itself, then polls."""
    runner = start_worker(gearmand.address, {"echo": echo})
    client = client_factory(gearmand.address)
    for i in range(200):
        assert client.submit("echo", b"job-%d" % i, timeout=10).result == b"job-%d" % i
    runner.stop()
    assert runner.done == 200


def test_stop_while_asleep_on_one_server_sends_no_new_grab():
    """After stop(), a NOOP (whether it lands in the worker's brief recv wait for it or in its
    poll) is not answered with GRAB_JOB_UNIQ, and work() returns."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    worker = Worker(f"127.0.0.1:{listener.getsockname()[1]}")
    worker.register("fn", echo)
    runner = RunningWorker(worker)
    conn, _ = listener.accept()
    conn.settimeout(10)
    parser = PacketParser(expect_magic=b"\0REQ")

    def read_until(ptype: PacketType) -> list[int]:
        seen: list[int] = []
        while ptype not in seen:
            parser.feed(conn.recv(65536))
            seen.extend(packet.type for packet in parser.packets())
        return seen

    assert read_until(PacketType.GRAB_JOB_UNIQ)[-1] == PacketType.GRAB_JOB_UNIQ
    conn.sendall(encode_packet(PacketType.NO_JOB, (), magic=b"\0RES"))
    assert read_until(PacketType.PRE_SLEEP) == [PacketType.PRE_SLEEP]
    worker.stop()
    conn.sendall(encode_packet(PacketType.NOOP, (), magic=b"\0RES"))
    runner.join()
    conn.settimeout(5)
    rest = b""
    while chunk := conn.recv(65536):  # the worker closed the connection
        rest += chunk
    parser.feed(rest)
    assert PacketType.GRAB_JOB_UNIQ not in [packet.type for packet in parser.packets()]
    worker.close()
    conn.close()
    listener.close()
