"""Soak (``make soak``): 10,000 stored-result jobs through two worker processes while worker
processes are SIGKILLed at random; at the end every job's record is SUCCESSFUL with the right
value (none lost, none left READY or RUNNING), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_gearman.models import JobRecord
from tests.django.support import wait_until
from tests.lifecycle.store_jobs import gearman_jobs as jobs
from tests.lifecycle.store_support import StoreDatabase, start_worker
from tests.reliability.test_load import Killer
from tests.support.gearmand import Gearmand

JOBS = 10_000
KILLS = 10
FINISH_TIMEOUT = 900.0


def finished() -> int:
    """Progress for the killer: records SUCCESSFUL so far (read from the killer's thread)."""
    return JobRecord.objects.filter(status="SUCCESSFUL").count()


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_stored_jobs_survive_random_worker_kills(
    gearmand: Gearmand, store_database: StoreDatabase
) -> None:
    worker = start_worker(
        gearmand.address, store_database, "-w", "2", wait_for="stored_add", count=2
    )
    killer = Killer(worker.pid, finished, JOBS, KILLS)
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
