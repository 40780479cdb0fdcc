"""Fixtures of the reliability tests: a ledger, worker subprocesses and clients, all cleaned up."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings

from django_gearman import GearmanClient
from tests.reliability import ledger
from tests.reliability.keys import SIGNING_KEYS
from tests.reliability.support import (
    SIGNED_SETTINGS,
    WorkerProcess,
    children_of,
    start_worker_process,
)
from tests.support.gearmand import Gearmand


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return ledger.create(tmp_path / "ledger.db")


@pytest.fixture
def worker_process() -> Iterator[Callable[..., WorkerProcess]]:
    """worker_process([servers], *args, settings=..., wait_for=...); stopped at the end."""
    started: list[WorkerProcess] = []

    def start(servers: Sequence[str], *args: str, **kwargs: object) -> WorkerProcess:
        process = start_worker_process(servers, *args, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def client() -> Iterator[Callable[..., GearmanClient]]:
    """client([servers], timeout=...) -> GearmanClient; closed at the end."""
    made: list[GearmanClient] = []

    def make(servers: Sequence[str], **kwargs: object) -> GearmanClient:
        made.append(GearmanClient(list(servers), **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for gearman_client in made:
        gearman_client.close()


@dataclass
class SignedWorker:
    """A gearmand, a signing ``gearman_worker`` on it, and a client signing with the same key."""

    server: Gearmand
    process: WorkerProcess
    child: int
    client: GearmanClient


@pytest.fixture(scope="module")
def signed_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedWorker]:
    """One per module: hostile cases run one after another against the same worker process,
    which proves it keeps serving (its pid never changes)."""
    server = Gearmand(workdir=tmp_path_factory.mktemp("gearmand"))
    server.start()
    try:
        process = start_worker_process(
            [server.address], settings=SIGNED_SETTINGS, wait_for="rel.pid"
        )
        try:
            (child,) = children_of(process.pid)
            with (
                override_settings(GEARMAN_SIGNING_KEYS=SIGNING_KEYS, GEARMAN_TIMEOUT=30.0),
                GearmanClient([server.address]) as gearman,
            ):
                yield SignedWorker(server, process, child, gearman)
        finally:
            process.stop()
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the load reports (jobs, kills, lost, duplicates, duration) after the run."""
    from tests.reliability.test_load import REPORTS

    for report in REPORTS:
        terminalreporter.write_line(
            "reliability load: " + ", ".join(f"{k}={v}" for k, v in report.items())
        )
