"""The supervising worker under real signals: graceful stop, immediate stop, restarts, recycling.

Each test starts its own gearmand and ``manage.py gearman_worker`` and submits from this process.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from django_gearman import GearmanClient
from tests.django.support import (
    WorkerProcess,
    children_of,
    pid_alive,
    pid_gone,
    wait_until,
    workers_for,
)

SLOW = "tests.django.jobs_app.slow_job"


class Submission:
    """A foreground job submitted from a background thread, so the test can send signals."""

    def __init__(self, client: GearmanClient, *args: Any, **kwargs: Any) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(client, args, kwargs), daemon=True)
        self.thread.start()

    def _run(self, client: GearmanClient, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self.result = client.submit_job(*args, **kwargs)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the submission did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def running_pid_change(marker: Path, old: int) -> int:
    """gearmand re-queues the interrupted job; wait until a new child has taken it."""
    wait_until(lambda: marker.read_text() not in ("", str(old)), 20, "the job to be re-run")
    return int(marker.read_text())


def running_pid(marker: Path) -> int:
    wait_until(lambda: marker.exists() and marker.read_text() != "", 20, f"job start ({marker})")
    return int(marker.read_text())


@pytest.fixture
def client(live: Any) -> Any:
    with GearmanClient() as gearman_client:
        yield gearman_client


def test_sigterm_to_a_child_finishes_its_job_then_the_child_exits(
    start_worker: Callable[..., WorkerProcess], client: GearmanClient, tmp_path: Path
) -> None:
    worker = start_worker("-w", "1", "-q", "slow", wait_for=SLOW)
    marker = tmp_path / "job"
    submission = Submission(client, SLOW, kwargs={"seconds": 1.0, "marker": str(marker)})
    child = running_pid(marker)
    assert child in children_of(worker.pid)
    worker_signal(child, signal.SIGTERM)
    assert submission.join(30) == "slept 1.0"
    assert Path(f"{marker}.done").read_text() == str(child)
    wait_until(lambda: not pid_alive(child), 10, "the child to exit")
    # A child that exits cleanly is replaced by the supervisor.
    wait_until(lambda: bool(children_of(worker.pid)), 20, "a replacement child")
    assert child not in children_of(worker.pid)


def test_sigterm_to_the_supervisor_finishes_running_jobs_and_exits(
    start_worker: Callable[..., WorkerProcess], client: GearmanClient, tmp_path: Path
) -> None:
    worker = start_worker("-w", "2", "-q", "slow", wait_for=SLOW, count=2)
    children = children_of(worker.pid)
    assert len(children) == 2
    marker = tmp_path / "job"
    submission = Submission(client, SLOW, kwargs={"seconds": 1.0, "marker": str(marker)})
    running_pid(marker)
    worker.signal(signal.SIGTERM)
    assert submission.join(30) == "slept 1.0"
    assert worker.wait(30) == 0
    for child in children:
        wait_until(functools.partial(pid_gone, child), 10, f"child {child} to exit")


def test_second_sigterm_to_a_child_exits_at_once(
    start_worker: Callable[..., WorkerProcess], client: GearmanClient, tmp_path: Path
) -> None:
    worker = start_worker("-w", "1", "-q", "slow", wait_for=SLOW)
    marker = tmp_path / "job"
    Submission(client, SLOW, kwargs={"seconds": 20.0, "marker": str(marker)}, poll_timeout=40)
    child = running_pid(marker)
    worker_signal(child, signal.SIGTERM)
    seen = f"worker {child}: finishing the current job"
    wait_until(lambda: seen in worker.output(), 10, "the first signal to be handled")
    worker_signal(child, signal.SIGTERM)
    wait_until(lambda: not pid_alive(child), 10, "the child to exit before its job ends")
    assert not Path(f"{marker}.done").exists()
    # Two signals to the supervisor: it kills everything at once, the job still unfinished.
    replacement = running_pid_change(marker, child)
    worker.signal(signal.SIGTERM)
    wait_until(lambda: "supervisor: stopping" in worker.output(), 10, "the supervisor's stop")
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 1
    wait_until(lambda: not pid_alive(replacement), 10, "the replacement to be killed")
    assert not Path(f"{marker}.done").exists()
    assert "second signal, killing the children now" in worker.output()


def test_a_killed_child_is_restarted(
    start_worker: Callable[..., WorkerProcess], client: GearmanClient, live: Any
) -> None:
    worker = start_worker("-w", "2")
    before = children_of(worker.pid)
    assert len(before) == 2
    worker_signal(before[0], signal.SIGKILL)
    wait_until(
        lambda: len(children_of(worker.pid)) == 2 and before[0] not in children_of(worker.pid),
        20,
        "the supervisor to restart the killed child",
    )
    wait_until(lambda: workers_for(live.address, "tests.django.jobs_app.echo") == 2, 20, "CAN_DO")
    assert client.submit_job("tests.django.jobs_app.echo", "after restart") == "after restart"
    assert "exited with signal 9" in worker.output()


def test_max_jobs_recycles_the_child(
    start_worker: Callable[..., WorkerProcess], client: GearmanClient, tmp_path: Path
) -> None:
    worker = start_worker("-w", "1", "-q", "slow", "--max-jobs", "2", wait_for=SLOW)
    pids = []
    for index in range(3):
        marker = tmp_path / f"job{index}"
        assert client.submit_job(SLOW, kwargs={"seconds": 0, "marker": str(marker)}) == "slept 0.0"
        pids.append(int(marker.read_text()))
    assert pids[0] == pids[1]
    assert pids[2] != pids[0]
    assert "recycled" in worker.output()


def test_worker_command_errors_are_clear(live: Any) -> None:
    worker = WorkerProcess(live.address, ["-q", "no-such-queue"])
    worker.start()
    assert worker.wait(60) != 0
    assert "no job to serve (no-such-queue)" in worker.output()


def worker_signal(pid: int, sig: signal.Signals) -> None:
    import os

    os.kill(pid, sig)


def test_children_exit_when_the_supervisor_is_killed(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    worker = start_worker("-w", "2", count=2)
    children = children_of(worker.pid)
    assert len(children) == 2
    worker.signal(signal.SIGKILL)
    worker.wait(10)
    for child in children:
        wait_until(functools.partial(pid_gone, child), 15, f"orphan {child} to exit")
