"""asyncio, done right (issue 16, items 17 and 18): the connections of an event loop die with
the loop, however many loops a process goes through (an ``async def`` view under WSGI gets a
new one per request); ``async def`` jobs are awaited on the worker and in eager mode.
"""

from __future__ import annotations

import asyncio
import gc
import os
import warnings
import weakref
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from django_gearman import GearmanClient, JobFailed
from tests.django.jobs_app import gearman_jobs as jobs
from tests.django.support import WorkerProcess
from tests.support.gearmand import Gearmand

LOOPS = 100
ASYNC_ADD = "tests.django.jobs_app.async_add"
# The typed API gives an ``async def`` job's submit() the coroutine's type, while it returns
# the awaited value: these tests hold the async jobs untyped.
async_add: Any = jobs.async_add
async_explode: Any = jobs.async_explode


def open_sockets() -> int:
    """Sockets this process holds, from /proc/self/fd (no psutil)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # the descriptor listdir itself used, already closed
            continue
    return count


@pytest.fixture
def client(live: Gearmand) -> Iterator[GearmanClient]:
    gearman_client = GearmanClient()
    yield gearman_client
    gearman_client.close()


def dispatch_on_this_loop(
    client: GearmanClient, loops: list[weakref.ref[asyncio.AbstractEventLoop]]
) -> Callable[[int], Coroutine[Any, Any, str]]:
    """What an async view does: queue a job from whatever loop runs it."""

    async def dispatch(number: int) -> str:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        handle = await jobs.echo.using(client=client).adispatch(number)
        assert handle.startswith("H:")
        return handle

    return dispatch


def assert_no_loop_survives(loops: list[weakref.ref[asyncio.AbstractEventLoop]]) -> None:
    gc.collect()
    alive = [ref for ref in loops if ref() is not None]
    assert not alive, f"{len(alive)} of {len(loops)} event loops are still referenced"


def test_a_hundred_asyncio_run_loops_leave_no_connection_open(client: GearmanClient) -> None:
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []
    dispatch = dispatch_on_this_loop(client, loops)
    before = open_sockets()
    for number in range(LOOPS):
        asyncio.run(dispatch(number))
    assert open_sockets() == before
    assert len(loops) == LOOPS
    assert_no_loop_survives(loops)


def test_a_hundred_async_to_sync_calls_leave_no_connection_open(client: GearmanClient) -> None:
    """Django runs an ``async def`` view under WSGI with ``async_to_sync``: a loop per call."""
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []
    dispatch = async_to_sync(dispatch_on_this_loop(client, loops))
    before = open_sockets()
    for number in range(LOOPS):
        dispatch(number)
    assert open_sockets() == before
    assert_no_loop_survives(loops)


def test_loops_closed_without_shutting_down_are_forgotten(client: GearmanClient) -> None:
    """A loop closed by hand (no ``shutdown_asyncgens``) cannot close its connections; the
    client lets go of it when the next loop comes, so they go with the loop's objects."""
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []
    dispatch = dispatch_on_this_loop(client, loops)
    before = open_sockets()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the unclosed transports, collected
        for number in range(LOOPS):
            loop = asyncio.new_event_loop()
            loop.run_until_complete(dispatch(number))
            loop.close()
        del loop
        asyncio.run(dispatch(LOOPS))
        assert_no_loop_survives(loops)
    assert open_sockets() == before


def test_one_loop_keeps_using_its_connection_and_aclose_ends_it(client: GearmanClient) -> None:
    async def many() -> tuple[int, int]:
        await jobs.echo.using(client=client).adispatch(0)
        during = open_sockets()
        for number in range(20):
            await jobs.echo.using(client=client).adispatch(number)
        after_twenty = open_sockets()
        await client.aclose()
        return during - after_twenty, open_sockets() - during

    extra_while_reusing, closed = asyncio.run(many())
    assert extra_while_reusing == 0
    assert closed == -1  # aclose closed the one connection of this loop


# -- 18: async def jobs ------------------------------------------------------------------------


@pytest.mark.usefixtures("eager")
def test_an_async_job_is_awaited_in_eager_mode() -> None:
    statuses: list[tuple[int, int]] = []
    job = async_add.using(on_status=lambda n, d: statuses.append((n, d)))
    assert job.submit(1, 2) == 3
    assert statuses == [(1, 1)]  # current_job() reaches the coroutine
    assert async_add.dispatch(1, 2).startswith("eager:")
    with pytest.raises(JobFailed) as failed:
        async_explode.submit("from a coroutine")
    assert failed.value.remote_message == "from a coroutine"


@pytest.mark.usefixtures("eager")
def test_an_async_job_submitted_eagerly_from_async_code_is_awaited() -> None:
    """The caller's thread runs a loop already: the job gets a loop of its own."""
    statuses: list[tuple[int, int]] = []

    async def main() -> int:
        job = async_add.using(on_status=lambda n, d: statuses.append((n, d)))
        return await job.asubmit(20, 22)

    assert asyncio.run(main()) == 42
    assert statuses == [(1, 1)]


def test_an_async_job_runs_on_the_worker(
    start_worker: Callable[..., WorkerProcess], client: GearmanClient
) -> None:
    worker = start_worker(wait_for=ASYNC_ADD)
    statuses: list[tuple[int, int]] = []
    job = async_add.using(client=client, on_status=lambda n, d: statuses.append((n, d)))
    assert job.submit(1, 2) == 3
    assert statuses == [(1, 1)]

    async def from_async_code() -> int:
        return await async_add.using(client=client).asubmit(3, 4)

    assert asyncio.run(from_async_code()) == 7
    with pytest.raises(JobFailed) as failed:
        async_explode.using(client=client).submit("from a coroutine")
    assert failed.value.remote_type == "tests.django.jobs_app.gearman_jobs.Boom"
    assert "never awaited" not in worker.output()
