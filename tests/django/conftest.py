"""Fixtures for the Django integration tests: eager settings, a live server, worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings

from tests.django.support import WorkerProcess
from tests.support.gearmand import Gearmand

SIGNING_KEYS = {"k1": "a-test-secret-of-enough-length", "k2": "another-secret-for-rotation!!"}


@pytest.fixture
def eager() -> Iterator[None]:
    """Jobs run in-process through the full encode/decode path."""
    with override_settings(GEARMAN_EAGER=True):
        yield


@pytest.fixture
def live(gearmand: Gearmand) -> Iterator[Gearmand]:
    """The Django settings point at a private gearmand (no eager mode)."""
    with override_settings(GEARMAN_SERVERS=[gearmand.address], GEARMAN_EAGER=False):
        yield gearmand


@pytest.fixture
def start_worker(live: Gearmand) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``manage.py gearman_worker`` subprocesses against the live server; all are stopped."""
    started: list[WorkerProcess] = []

    def start(
        *args: str,
        wait_for: str = "tests.django.jobs_app.echo",
        count: int = 1,
        env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        process = WorkerProcess(live.address, list(args), env=env)
        started.append(process)
        process.start()
        process.wait_for_workers(wait_for, count)
        return process

    yield start
    for process in started:
        process.stop()
