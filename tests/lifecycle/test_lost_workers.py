"""A worker SIGKILLed in the middle of a job never leaves its record RUNNING forever: gearmand
hands the job to another worker, which takes the record over, or (when gearmand lost the job
too) the next worker start on the host marks it FAILED with ``WorkerLost``."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

from django.test import override_settings
from django.utils import timezone

from django_gearman import store
from django_gearman.models import JobRecord
from tests.django.support import children_of, pid_alive, wait_until
from tests.lifecycle.store_jobs import gearman_jobs as jobs
from tests.lifecycle.store_support import StoreDatabase, start_worker
from tests.support.gearmand import Gearmand

WAIT = 60.0
LOST = "django_gearman.WorkerLost"


def started_by(path: Path) -> int:
    wait_until(lambda: path.exists() and path.read_text().isdigit(), WAIT, f"{path.name}")
    return int(path.read_text())


def test_a_killed_worker_s_job_is_taken_over_by_the_next_worker(
    gearmand: Gearmand, store_database: StoreDatabase, tmp_path: Path
) -> None:
    worker = start_worker(gearmand.address, store_database, "-w", "1", wait_for="slow")
    try:
        with override_settings(GEARMAN_SERVERS=[gearmand.address]):
            started = tmp_path / "started"
            result = jobs.slow.dispatch(str(started), 1.0)
            victim = started_by(started)
            assert JobRecord.objects.get(pk=result.id).status == "RUNNING"
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda: not pid_alive(victim), WAIT, "the worker to die")
            result.wait(WAIT)
    finally:
        worker.stop()
    assert result.status == "SUCCESSFUL" and result.return_value == "done"
    assert result.attempts == 2
    assert [error.type for error in result.errors] == [LOST]
    assert str(victim) in result.errors[0].message
    assert not result.worker.endswith(f":{victim}")


def test_a_job_lost_with_its_worker_and_its_server_is_marked_failed(
    gearmand: Gearmand, store_database: StoreDatabase, tmp_path: Path
) -> None:
    worker = start_worker(gearmand.address, store_database, "-w", "1", wait_for="slow")
    with override_settings(GEARMAN_SERVERS=[gearmand.address]):
        started = tmp_path / "started"
        result = jobs.slow.dispatch(str(started), 60.0)
        started_by(started)
    victims = [worker.pid, *children_of(worker.pid)]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    worker.wait(WAIT)
    wait_until(lambda: not any(pid_alive(pid) for pid in victims), WAIT, "the workers to die")
    gearmand.restart()  # an in-memory queue: the job is gone with the server
    assert JobRecord.objects.get(pk=result.id).status == "RUNNING"
    successor = start_worker(gearmand.address, store_database, "-w", "1", wait_for="slow")
    try:
        wait_until(
            lambda: JobRecord.objects.get(pk=result.id).status != "RUNNING",
            WAIT,
            "the next worker start to mark the record",
        )
    finally:
        successor.stop()
    result.refresh()
    assert result.status == "FAILED"
    assert result.errors[-1].type == LOST
    assert result.finished_at is not None


def test_the_sweep_marks_records_of_other_hosts_after_lost_after(
    store_database: StoreDatabase,
) -> None:
    now = timezone.now()

    def running(worker: str, started: timedelta) -> uuid.UUID:
        record = JobRecord.objects.create(
            job_name=jobs.slow.name,
            status="RUNNING",
            enqueued_at=now - started,
            started_at=now - started,
            released_at=now - started,
            worker=worker,
            attempts=1,
            call=b"",
        )
        return record.id

    old = running("elsewhere.example:4242", timedelta(hours=2))
    recent = running("elsewhere.example:4243", timedelta(minutes=1))
    here_alive = running(store.worker_name(), timedelta(0))
    dead_pid = _a_dead_pid()
    here_dead = running(f"{store.worker_name().rpartition(':')[0]}:{dead_pid}", timedelta(0))
    # This host's records are checked by pid, whatever their age; other hosts' by lost_after.
    assert store.mark_lost() >= 1
    assert JobRecord.objects.get(pk=here_dead).status == "FAILED"
    assert JobRecord.objects.get(pk=here_alive).status == "RUNNING"
    assert JobRecord.objects.get(pk=old).status == "RUNNING"
    assert store.mark_lost(lost_after=timedelta(hours=1)) >= 1
    assert JobRecord.objects.get(pk=old).status == "FAILED"
    assert JobRecord.objects.get(pk=old).error_type == LOST
    assert JobRecord.objects.get(pk=recent).status == "RUNNING"
    assert JobRecord.objects.get(pk=here_alive).status == "RUNNING"
    JobRecord.objects.filter(pk__in=[recent, here_alive]).delete()


def _a_dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait(10)
    return process.pid
