"""One adapter per client implementation, so every scenario drives them the same way.

An adapter's methods return only after the server confirmed the work (a foreground result, or
JOB_CREATED for a background job), and raise ``BenchFailure`` when a job did not succeed: a
benchmark that quietly counts failures as work would be measuring nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from bench.wire import RawClient

JOB_TIMEOUT = 30.0


class BenchFailure(RuntimeError):
    """A job submitted by a benchmark did not complete as expected."""


class Submitter:
    """The operations the scenarios time. Unsupported ones raise NotImplementedError."""

    def prepare(self, data: bytes) -> Any:
        """Turn the benchmark's payload into this client's native argument (done before timing)."""
        return data

    def call(self, payload: Any) -> Any:
        raise NotImplementedError

    def call_many(self, payloads: Sequence[Any]) -> int:
        raise NotImplementedError

    def submit_background(self, payload: Any) -> None:
        raise NotImplementedError

    def submit_background_many(self, payloads: Sequence[Any]) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; the default has none to release."""


class RawSubmitter(Submitter):
    def __init__(self, address: str, function: str) -> None:
        self.client = RawClient(address, function, timeout=JOB_TIMEOUT)

    def call(self, payload: bytes) -> bytes:
        return self.client.call(payload)

    def call_many(self, payloads: Sequence[bytes]) -> int:
        return len(self.client.call_many(payloads))

    def submit_background(self, payload: bytes) -> None:
        self.client.submit_background(payload)

    def submit_background_many(self, payloads: Sequence[bytes]) -> int:
        return self.client.submit_background_many(payloads)

    def close(self) -> None:
        self.client.close()


class PygearmanSubmitter(Submitter):
    """pygearman 0.2.6. Without ``poll_timeout`` its foreground submit returns before the result."""

    def __init__(self, address: str, function: str) -> None:
        import gearman

        self.client = gearman.GearmanClient([address])
        self.function = function

    def call(self, payload: bytes) -> bytes:
        request = self.client.submit_job(self.function, payload, poll_timeout=JOB_TIMEOUT)
        if not request.complete:
            raise BenchFailure(f"pygearman job not complete: state {request.state}")
        return request.result

    def call_many(self, payloads: Sequence[bytes]) -> int:
        jobs = [{"task": self.function, "data": payload} for payload in payloads]
        requests = self.client.submit_multiple_jobs(jobs, poll_timeout=JOB_TIMEOUT)
        if not all(request.complete for request in requests):
            raise BenchFailure("pygearman: some jobs of a batch did not complete")
        return len(requests)

    def submit_background(self, payload: bytes) -> None:
        self.client.submit_job(self.function, payload, background=True, wait_until_complete=False)

    def submit_background_many(self, payloads: Sequence[bytes]) -> int:
        jobs = [{"task": self.function, "data": payload} for payload in payloads]
        requests = self.client.submit_multiple_jobs(
            jobs, background=True, wait_until_complete=False, poll_timeout=JOB_TIMEOUT
        )
        return len(requests)

    def close(self) -> None:
        self.client.shutdown()


def _require_ok(results: Sequence[Any], expected_state: str) -> int:
    for result in results:
        if result.state != expected_state:
            raise BenchFailure(f"job ended {result.state!r}, expected {expected_state!r}")
    return len(results)


class TransportSubmitter(Submitter):
    """Our transport alone: ``django_gearman.protocol.Client`` with bytes in and out."""

    def __init__(self, address: str, function: str) -> None:
        from django_gearman.protocol import Client, JobRequest

        self.client = Client([address])
        self.function = function
        self.request = JobRequest

    def call(self, payload: bytes) -> bytes:
        result = self.client.submit(self.function, payload, timeout=JOB_TIMEOUT)
        if result.state != "complete":
            raise BenchFailure(f"job ended {result.state!r}")
        return result.result

    def call_many(self, payloads: Sequence[bytes]) -> int:
        requests = [self.request(self.function, payload) for payload in payloads]
        return _require_ok(self.client.submit_many(requests, timeout=JOB_TIMEOUT), "complete")

    def submit_background(self, payload: bytes) -> None:
        self.client.submit(self.function, payload, background=True, timeout=JOB_TIMEOUT)

    def submit_background_many(self, payloads: Sequence[bytes]) -> int:
        requests = [self.request(self.function, p, background=True) for p in payloads]
        return _require_ok(self.client.submit_many(requests, timeout=JOB_TIMEOUT), "queued")

    def close(self) -> None:
        self.client.close()


class AsyncSubmitter(Submitter):
    """Our asyncio client, driven from a private event loop; ``call_many`` awaits one batch."""

    def __init__(self, address: str, function: str) -> None:
        from django_gearman.protocol import AsyncClient, JobRequest

        self.loop = asyncio.new_event_loop()
        self.client = AsyncClient([address])
        self.function = function
        self.request = JobRequest

    def call(self, payload: bytes) -> bytes:
        result = self.loop.run_until_complete(
            self.client.submit(self.function, payload, timeout=JOB_TIMEOUT)
        )
        if result.state != "complete":
            raise BenchFailure(f"job ended {result.state!r}")
        return result.result

    def call_many(self, payloads: Sequence[bytes]) -> int:
        requests = [self.request(self.function, payload) for payload in payloads]
        results = self.loop.run_until_complete(
            self.client.submit_many(requests, timeout=JOB_TIMEOUT)
        )
        return _require_ok(results, "complete")

    def call_concurrently(self, payloads: Sequence[bytes]) -> int:
        """One task per job, all in flight at once (the asyncio way, not a batch call)."""

        async def one(payload: bytes) -> str:
            result = await self.client.submit(self.function, payload, timeout=JOB_TIMEOUT)
            return result.state

        async def all_of_them() -> list[str]:
            return await asyncio.gather(*(one(payload) for payload in payloads))

        states = self.loop.run_until_complete(all_of_them())
        if any(state != "complete" for state in states):
            raise BenchFailure(f"asyncio jobs ended {sorted(set(states))}")
        return len(states)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


class DjangoSubmitter(Submitter):
    """The full product path: a typed ``@gearman_job`` submitted through ``GearmanClient``."""

    def __init__(self, address: str, function: str) -> None:
        from bench.djangosite import setup_django

        setup_django()
        from bench.djangosite.gearman_jobs import echo
        from django_gearman import GearmanClient

        if echo.wire_name != function:
            raise BenchFailure(f"Django job is {echo.wire_name!r}, workers serve {function!r}")
        self.client = GearmanClient([address], timeout=JOB_TIMEOUT)
        self.job = echo.using(client=self.client)

    def prepare(self, data: bytes) -> str:
        return data.decode()

    def call(self, payload: str) -> str:
        return self.job.submit(payload)

    def submit_background(self, payload: str) -> None:
        self.job.dispatch(payload)

    def close(self) -> None:
        self.client.close()


LABELS: dict[str, str] = {
    "raw": "raw socket (ceiling)",
    "raw2": "raw socket, 2 worker processes",
    "ours": "ours: transport",
    "async": "ours: asyncio submit_many",
    "async_tasks": "ours: asyncio, one task a job",
    "django": "ours: Django typed job",
    "django_w1": "ours: gearman_worker -w 1",
    "django_w2": "ours: gearman_worker -w 2",
    "pygearman": "pygearman 0.2.6",
    "c": "C gearman tool",
}

SUBMITTERS: dict[str, Callable[[str, str], Submitter]] = {
    "raw": RawSubmitter,
    "pygearman": PygearmanSubmitter,
    "ours": TransportSubmitter,
    "async": AsyncSubmitter,
    "django": DjangoSubmitter,
}
