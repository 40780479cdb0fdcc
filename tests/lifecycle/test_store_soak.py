"""Soak (``make soak``): 10,000 stored-result jobs through two worker processes while worker
processes are SIGKILLed at random; at the end every job's record is SUCCESSFUL with the right
value (none lost, none left READY or RUNNING), on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest
from django.db import connections
from django.test import override_settings

from django_gearman.models import JobRecord
from tests.django.support import children_of, wait_until
from tests.lifecycle.store_jobs import gearman_jobs as jobs
from tests.lifecycle.store_support import StoreDatabase, start_worker
from tests.reliability.support import kill
from tests.support.gearmand import Gearmand

JOBS = 10_000
KILLS = 10
FINISH_TIMEOUT = 900.0


class Killer(threading.Thread):
    """SIGKILLs a random worker child each time the number of finished records passes one of
    ``KILLS`` random thresholds between 5% and 90% of the jobs."""

    def __init__(self, supervisor: int, database: StoreDatabase) -> None:
        super().__init__(daemon=True)
        self.rng = random.Random()
        self.thresholds = sorted(self.rng.randint(JOBS // 20, JOBS * 9 // 10) for _ in range(KILLS))
        self.supervisor = supervisor
        self.done = threading.Event()
        self.killed: list[int] = []
        self.error: BaseException | None = None

    def finished(self) -> int:
        return JobRecord.objects.filter(status="SUCCESSFUL").count()

    def run(self) -> None:
        try:
            for threshold in self.thresholds:
                while not self.done.is_set() and self.finished() < threshold:
                    time.sleep(0.05)
                deadline = time.monotonic() + 30  # the supervisor may be backing off a restart
                while not self.done.is_set() and time.monotonic() < deadline:
                    children = children_of(self.supervisor)
                    if children:
                        victim = self.rng.choice(children)
                        kill(victim, signal.SIGKILL)
                        self.killed.append(victim)
                        break
                    time.sleep(0.01)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            connections.close_all()


@pytest.mark.soak
def test_stored_jobs_survive_random_worker_kills(
    gearmand: Gearmand, store_database: StoreDatabase, tmp_path: Path
) -> None:
    worker = start_worker(gearmand.address, store_database, "-w", "2", wait_for="stored_add", count=2)
    killer = Killer(worker.pid, store_database)
    try:
        with override_settings(GEARMAN_SERVERS=[gearmand.address]):
            killer.start()
            ids = [jobs.stored_add.dispatch(number, number).id for number in range(JOBS)]

            def all_finished() -> bool:
                return JobRecord.objects.filter(status__in=["READY", "RUNNING"]).count() == 0

            wait_until(all_finished, FINISH_TIMEOUT, "every stored job to finish")
    finally:
        killer.done.set()
        killer.join(60)
        worker.stop()
    assert killer.error is None, killer.error
    assert len(killer.killed) == KILLS
    by_status: dict[str, int] = {}
    for status in JobRecord.objects.values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    assert by_status == {"SUCCESSFUL": JOBS}, by_status
    for number in range(0, JOBS, 97):
        assert jobs.stored_add.get_result(ids[number]).return_value == 2 * number
    lost_attempts = sum(
        len(errors) for errors in JobRecord.objects.values_list("attempt_errors", flat=True)
    )
    assert lost_attempts <= KILLS  # at most one attempt lost per kill
