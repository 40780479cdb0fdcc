"""Fixtures of the reliability tests: a ledger, worker subprocesses and clients, all cleaned up."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from django_gearman import GearmanClient
from tests.reliability import ledger
from tests.reliability.support import WorkerProcess, start_worker_process


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the load reports (jobs, kills, lost, duplicates, duration) after the run."""
    from tests.reliability.test_load import REPORTS

    for report in REPORTS:
        terminalreporter.write_line(
            "reliability load: " + ", ".join(f"{k}={v}" for k, v in report.items())
        )
