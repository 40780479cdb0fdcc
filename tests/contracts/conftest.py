"""Fixtures of the contract tests: the contract jobs loaded here, workers with the contract
settings against a private gearmand."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import tests.contracts.contract_jobs.gearman_jobs  # noqa: F401 - registers the contracts.* jobs
from tests.contracts.support import SETTINGS
from tests.django.conftest import eager, live  # noqa: F401 - the Django tests' fixtures
from tests.django.support import WorkerProcess
from tests.support.gearmand import Gearmand


@pytest.fixture
def contract_worker(live: Gearmand) -> Iterator[Callable[..., WorkerProcess]]:  # noqa: F811
    """Start ``gearman_worker`` subprocesses with the contract settings; all are stopped."""
    started: list[WorkerProcess] = []

    def start(*args: str, wait_for: str, env: dict[str, str] | None = None) -> WorkerProcess:
        process = WorkerProcess(
            live.address, list(args), env={"DJANGO_SETTINGS_MODULE": SETTINGS, **(env or {})}
        )
        started.append(process)
        process.start()
        process.wait_for_workers(wait_for, 1)
        return process

    yield start
    for process in started:
        process.stop()
