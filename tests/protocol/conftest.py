"""Fixtures for transport tests: workers running in background threads, stopped at teardown."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

import pytest

from django_gearman.protocol import Client, Worker, WorkerJob

JOIN_TIMEOUT = 10.0


def reverse(job: WorkerJob) -> bytes:
    """A result that depends on the input, so a result can never match another job's."""
    return job.data[::-1]


def echo(job: WorkerJob) -> bytes:
    return job.data


class RunningWorker:
    """A Worker serving in a daemon thread; ``stop()`` joins it with a timeout."""

    def __init__(self, worker: Worker, max_jobs: int | None = None) -> None:
        self.worker = worker
        self.done: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(max_jobs,), daemon=True)
        self.thread.start()

    def _run(self, max_jobs: int | None) -> None:
        try:
            self.done = self.worker.work(max_jobs=max_jobs)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def stop(self) -> None:
        self.worker.stop()
        self.join()

    def join(self, timeout: float = JOIN_TIMEOUT) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "worker thread did not stop in time"
        if self.error is not None:
            raise self.error


def wait_until(predicate: Callable[[], object], attempts: int = 500, pause: float = 0.01) -> bool:
    """Bounded polling helper: no test waits forever."""
    for _ in range(attempts):
        if predicate():
            return True
        threading.Event().wait(pause)
    return bool(predicate())


WorkerFactory = Callable[..., RunningWorker]


@pytest.fixture
def start_worker() -> Iterator[WorkerFactory]:
    """start_worker(servers, {"fn": callback}, max_jobs=None, **worker_kwargs)."""
    running: list[RunningWorker] = []

    def start(
        servers: str | Sequence[str],
        functions: dict[str, Callable[[WorkerJob], object]] | None = None,
        max_jobs: int | None = None,
        **kwargs: object,
    ) -> RunningWorker:
        worker = Worker(servers, **kwargs)  # type: ignore[arg-type]
        for name, callback in (functions or {"reverse": reverse}).items():
            worker.register(name, callback)  # type: ignore[arg-type]
        runner = RunningWorker(worker, max_jobs)
        running.append(runner)
        return runner

    yield start
    for runner in running:
        runner.worker.stop()
        runner.thread.join(JOIN_TIMEOUT)
        runner.worker.close()


@pytest.fixture
def client_factory() -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(servers: str | Sequence[str], **kwargs: object) -> Client:
        client = Client(servers, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
