"""AsyncClient: hundreds of jobs in flight on one connection, each result to its own caller."""

from __future__ import annotations

import asyncio
import threading

import pytest

from django_gearman.protocol import (
    AsyncClient,
    JobRequest,
    JobTimeout,
    NoServerAvailable,
    OutcomeUnknown,
    WorkerJob,
)
from tests.protocol.conftest import echo, reverse
from tests.support.gearmand import free_port


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_hundreds_in_flight_each_result_reaches_its_own_caller(gearmand, start_worker):
    # Two workers so jobs finish out of submit order.
    start_worker(gearmand.address, {"reverse": reverse})
    start_worker(gearmand.address, {"reverse": reverse})

    async def main():
        async with AsyncClient(gearmand.address) as client:
            payloads = [b"payload-%d-" % i + bytes([i % 256]) * (i % 7) for i in range(500)]
            results = await asyncio.gather(*(client.submit("reverse", p) for p in payloads))
            assert len(client._connections) == 1  # all of them on one connection
            return payloads, results

    payloads, results = run(main())
    assert [r.result for r in results] == [p[::-1] for p in payloads]
    assert len({r.handle for r in results}) == 500


def test_out_of_order_completion_is_matched_by_handle(gearmand, start_worker):
    release = threading.Event()

    def held(job: WorkerJob) -> bytes:
        release.wait(10)
        return b"held:" + job.data

    start_worker(gearmand.address, {"held": held})
    start_worker(gearmand.address, {"fast": echo})

    async def main():
        async with AsyncClient(gearmand.address) as client:
            slow = asyncio.ensure_future(client.submit("held", b"first"))
            await asyncio.sleep(0.05)
            fast = await client.submit("fast", b"second")  # finishes while "first" is running
            release.set()
            return await slow, fast

    slow, fast = run(main())
    assert slow.result == b"held:first"
    assert fast.result == b"second"


def test_status_callbacks_background_and_submit_many(gearmand, start_worker):
    def progress(job: WorkerJob) -> bytes:
        job.send_status(1, 2)
        job.send_data(b"partial")
        return b"ok"

    start_worker(gearmand.address, {"progress": progress, "reverse": reverse})
    seen: list[object] = []

    async def main():
        async with AsyncClient(gearmand.address) as client:
            one = await client.submit(
                "progress", b"", on_status=lambda n, d: seen.append((n, d)), on_data=seen.append
            )
            batch = await client.submit_many(
                [JobRequest("reverse", b"ab"), JobRequest("queue-only", b"x", background=True)]
            )
            return one, batch

    one, batch = run(main())
    assert one.result == b"ok"
    assert seen == [(1, 2), b"partial"]
    assert [b.state for b in batch] == ["complete", "queued"]
    assert batch[0].result == b"ba"


def test_timeout_and_connection_stays_usable(gearmand, start_worker):
    start_worker(gearmand.address, {"reverse": reverse})

    async def main():
        async with AsyncClient(gearmand.address) as client:
            with pytest.raises(JobTimeout):
                await client.submit("nobody-serves-this", b"x", timeout=0.3)
            return await client.submit("reverse", b"still", timeout=10)

    assert run(main()).result == b"llits"


def test_server_death_with_jobs_in_flight_is_outcome_unknown(gearmand, start_worker):
    started = threading.Event()
    release = threading.Event()

    def held(job: WorkerJob) -> bytes:
        started.set()
        release.wait(10)
        return b""

    start_worker(gearmand.address, {"held": held})

    async def main():
        async with AsyncClient(gearmand.address) as client:
            jobs = [asyncio.ensure_future(client.submit("held", b"%d" % i)) for i in range(5)]
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
            gearmand.kill()
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
            release.set()
            return outcomes

    outcomes = run(main())
    assert all(isinstance(o, OutcomeUnknown) for o in outcomes), outcomes


def test_no_server_available():
    async def main():
        async with AsyncClient(f"127.0.0.1:{free_port()}", retries=1, backoff=0.01) as client:
            await client.submit("fn", b"x", timeout=5)

    with pytest.raises(NoServerAvailable):
        run(main())


def test_same_unique_in_flight_twice_both_callers_get_the_result(gearmand, start_worker):
    calls: list[bytes] = []

    def counted(job: WorkerJob) -> bytes:
        calls.append(job.data)
        return b"r:" + job.data

    async def main():
        async with AsyncClient(gearmand.address) as client:
            # No worker yet: both submissions meet in the queue and coalesce.
            first = asyncio.ensure_future(client.submit("coalesce", b"A", unique="k"))
            second = asyncio.ensure_future(client.submit("coalesce", b"A", unique="k"))
            await asyncio.sleep(0.2)
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: start_worker(gearmand.address, {"coalesce": counted})
            )
            return await first, await second

    first, second = run(main())
    assert first.result == second.result == b"r:A"
    assert first.handle == second.handle
    assert calls == [b"A"]


def test_timed_out_jobs_are_not_tracked_forever(gearmand):
    async def main():
        async with AsyncClient(gearmand.address) as client:
            for _ in range(3):
                with pytest.raises(JobTimeout):
                    await client.submit("nobody-serves-this", b"x", timeout=0.2)
            (protocol,) = client._connections.values()
            return protocol.tracker.open_jobs, len(protocol.tracker.by_handle), protocol.waiters

    open_jobs, handles, waiters = run(main())
    assert (open_jobs, handles, waiters) == (0, 0, {})


def test_failover_to_the_live_server(two_gearmands, start_worker):
    a, b = two_gearmands
    start_worker([a.address, b.address], {"reverse": reverse})
    b.kill()

    async def main():
        async with AsyncClient([a.address, b.address], retries=0) as client:
            return await asyncio.gather(*(client.submit("reverse", b"%d" % i) for i in range(20)))

    results = run(main())
    assert [r.result for r in results] == [(b"%d" % i)[::-1] for i in range(20)]
    assert {r.server for r in results} == {a.address}
