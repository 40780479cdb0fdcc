"""Load with faults: many jobs through two worker processes while workers are SIGKILLed at random.

Every job is a foreground call whose key the job writes to the sqlite ledger, so each job is
accounted for twice: by its result on the client and by its ``done`` row(s) in the ledger. A job
is lost if neither exists. Gearman is at-least-once when a worker dies: a kill that lands after
the job's work but before gearmand got WORK_COMPLETE runs the job again (a duplicate), so at most
one duplicate per kill is possible, and that bound is asserted.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from django_gearman import GearmanClient
from tests.reliability import ledger
from tests.reliability.support import WorkerProcess, children_of, kill, wait_until
from tests.support.gearmand import Gearmand

REPORTS: list[dict[str, Any]] = []


@dataclass
class LoadReport:
    jobs: int
    kills: int
    completed: int
    lost: int
    duplicates: int
    reruns: int
    client_errors: int
    seconds: float


class Killer(threading.Thread):
    """SIGKILLs a random worker child of ``supervisor`` each time progress passes a threshold.

    The thresholds are random points between 5% and 90% of the jobs, so every kill happens while
    jobs are flowing, at a place no one chose.
    """

    def __init__(self, supervisor: int, progress: Callable[[], int], jobs: int, kills: int) -> None:
        super().__init__(daemon=True)
        rng = random.Random()
        self.thresholds = sorted(rng.randint(jobs // 20, jobs * 9 // 10) for _ in range(kills))
        self.supervisor = supervisor
        self.progress = progress
        self.rng = rng
        self.done = threading.Event()
        self.killed: list[int] = []

    def run(self) -> None:
        for threshold in self.thresholds:
            while not self.done.is_set() and self.progress() < threshold:
                time.sleep(0.005)
            deadline = time.monotonic() + 30  # the supervisor may be backing off a restart
            while not self.done.is_set() and time.monotonic() < deadline:
                children = children_of(self.supervisor)
                if children:
                    victim = self.rng.choice(children)
                    kill(victim, signal.SIGKILL)
                    self.killed.append(victim)
                    break
                time.sleep(0.01)
            if self.done.is_set():
                return


def run_load(
    server: Gearmand,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
    *,
    jobs: int,
    kills: int,
    threads: int = 8,
) -> LoadReport:
    supervisor = worker_process([server.address], "-w", "2", count=2)
    gearman = client([server.address])
    keys = [f"job-{i}" for i in range(jobs)]
    results: dict[str, Any] = {}
    finished = [0]
    lock = threading.Lock()

    def one(key: str) -> None:
        try:
            value: Any = gearman.submit_job(
                "rel.record",
                key=key,
                ledger_path=str(ledger_path),
                pause=0.001,
                linger=0.001,
                poll_timeout=120,
            )
        except Exception as exc:
            value = exc
        with lock:
            results[key] = value
            finished[0] += 1

    killer = Killer(supervisor.pid, lambda: finished[0], jobs, kills)
    started = time.monotonic()
    killer.start()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, keys))
    seconds = time.monotonic() - started
    killer.done.set()
    killer.join(60)
    done = ledger.counts(ledger_path, "done")
    starts = ledger.counts(ledger_path, "start")
    ok = {key for key, value in results.items() if isinstance(value, dict)}
    report = LoadReport(
        jobs=jobs,
        kills=len(killer.killed),
        completed=len(ok),
        lost=sum(1 for key in keys if key not in ok and key not in done),
        duplicates=sum(count - 1 for count in done.values()),
        reruns=sum(starts.values()) - jobs,
        client_errors=len(results) - len(ok),
        seconds=round(seconds, 1),
    )
    REPORTS.append(asdict(report))
    # The workers are back: a last job gets served (the supervisor replaced every killed child).
    wait_until(lambda: len(children_of(supervisor.pid)) == 2, 30, "both workers restarted")
    return report


def check(report: LoadReport, requested_kills: int) -> None:
    assert report.kills == requested_kills, "every planned kill happened mid-run"
    assert report.client_errors == 0, "a killed worker's job is re-queued, never failed"
    assert report.completed == report.jobs
    assert report.lost == 0
    assert report.duplicates <= report.kills, "at most one duplicate per killed worker"
    assert report.reruns >= report.duplicates


def test_500_jobs_two_workers_two_random_kills_nothing_lost(
    gearmand: Gearmand,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    report = run_load(gearmand, ledger_path, worker_process, client, jobs=500, kills=2)
    check(report, 2)


@pytest.mark.soak
@pytest.mark.timeout(1200)
def test_soak_10000_jobs_two_workers_random_kills_nothing_lost(
    gearmand: Gearmand,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    report = run_load(gearmand, ledger_path, worker_process, client, jobs=10_000, kills=20)
    check(report, 20)
