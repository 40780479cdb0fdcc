"""Stored results end to end: this process dispatches, ``gearman_worker`` subprocesses run and
record, and any process reads the record by id (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.utils import timezone

from django_gearman import JobFailed
from django_gearman.models import JobRecord
from django_gearman.results import (
    ResultDoesNotExist,
    ResultMismatch,
    ResultNotReady,
    ResultTimeout,
    StoredResult,
)
from tests.lifecycle.store_jobs import gearman_jobs as jobs
from tests.lifecycle.store_support import StoreDatabase, lookup_elsewhere

WAIT = 30.0


def test_a_dispatched_job_is_stored_and_readable_by_id(
    gearman_servers: str, store_database: StoreDatabase
) -> None:
    result = jobs.stored_add.dispatch(2, 3)
    assert isinstance(result, StoredResult)
    assert uuid.UUID(result.id).hex == result.id
    assert result.status in {"READY", "RUNNING", "SUCCESSFUL"}
    result.wait(WAIT)
    assert result.status == "SUCCESSFUL"
    assert result.return_value == 5
    assert result.attempts == 1
    assert result.errors == ()
    assert result.started_at is not None and result.finished_at is not None
    assert result.enqueued_at is not None and result.enqueued_at <= result.started_at
    assert result.handle.startswith("H:") and result.server == gearman_servers
    host, _, pid = result.worker.rpartition(":")
    assert host and pid.isdigit()
    again = jobs.stored_add.get_result(result.id)
    assert (again.status, again.return_value) == ("SUCCESSFUL", 5)
    elsewhere = lookup_elsewhere(store_database, "stored_add", result.id)
    assert elsewhere["status"] == "SUCCESSFUL" and elsewhere["value"] == 5


def test_a_failing_job_is_failed_with_its_traceback_in_another_process(
    gearman_servers: str, store_database: StoreDatabase
) -> None:
    result = jobs.stored_fail.dispatch("disk full").wait(WAIT)
    assert result.status == "FAILED"
    elsewhere = lookup_elsewhere(store_database, "stored_fail", result.id)
    assert elsewhere["status"] == "FAILED"
    assert elsewhere["errors"] == ["builtins.ValueError"]
    assert elsewhere["message"] == "disk full"
    assert "Traceback (most recent call last)" in elsewhere["traceback"]
    assert "raise ValueError(message)" in elsewhere["traceback"]
    with pytest.raises(ResultNotReady):
        _ = result.return_value


def test_a_foreground_submit_is_stored_too(gearman_servers: str) -> None:
    before = JobRecord.objects.filter(job_name=jobs.stored_add.name).count()
    assert jobs.stored_add.submit(20, 22) == 42
    with pytest.raises(JobFailed) as caught:
        jobs.stored_fail.submit("foreground")
    assert caught.value.remote_type == "ValueError"
    records = JobRecord.objects.filter(job_name=jobs.stored_add.name).order_by("-enqueued_at")
    assert records.count() == before + 1
    newest = records.first()
    assert newest is not None and newest.status == "SUCCESSFUL" and newest.max_attempts == 1


def test_lookup_errors_are_typed(gearman_servers: str) -> None:
    with pytest.raises(ResultDoesNotExist):
        jobs.stored_add.get_result(uuid.uuid4().hex)
    with pytest.raises(ResultDoesNotExist):
        jobs.stored_add.get_result("not-an-id' OR 1=1 --")
    other = jobs.stored_add.dispatch(1, 1).wait(WAIT)
    with pytest.raises(ResultMismatch):
        jobs.stored_fail.get_result(other.id)


def test_wait_gives_up_after_its_timeout_and_refresh_catches_up(gearman_servers: str) -> None:
    result = jobs.stored_add.dispatch(1, 2)
    record = JobRecord.objects.get(pk=result.id)
    # A result that never finishes (a record nobody will run) times out, bounded.
    stuck = StoredResult.from_record(
        JobRecord.objects.create(
            job_name=record.job_name, enqueued_at=record.enqueued_at, call=b"", released_at=None
        )
    )
    with pytest.raises(ResultTimeout):
        stuck.wait(0.3)
    with pytest.raises(ValueError):
        stuck.wait(-1)
    result.wait(WAIT)
    assert result.is_finished and result.return_value == 3


def test_wait_reads_soon_then_at_most_twenty_times_a_second(gearman_servers: str) -> None:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from django_gearman import store
    from django_gearman.results import WAIT_MAX_INTERVAL, wait_pauses

    pauses = wait_pauses(60.0)
    first = [next(pauses) for _ in range(15)]
    assert first[0] == 0.001  # a job of a millisecond is seen about a millisecond after its end
    assert first == sorted(first) and max(first) == WAIT_MAX_INTERVAL == 0.05
    record = JobRecord.objects.create(
        job_name=jobs.stored_add.name, enqueued_at=timezone.now(), call=b"", released_at=None
    )
    stuck = StoredResult.from_record(record)
    reading = CaptureQueriesContext(connections[store.database_alias()])
    with reading as reads, pytest.raises(ResultTimeout):
        stuck.wait(0.5)
    # about 10 reads in the first 0.1 s, then one per 50 ms: ~19; a slower machine reads less
    assert 2 <= len(reads.captured_queries) <= 25, len(reads.captured_queries)


def test_async_lookup(gearman_servers: str) -> None:
    result = jobs.stored_add.dispatch(4, 4).wait(WAIT)

    async def look() -> StoredResult[int]:
        found: StoredResult[int] = await jobs.stored_add.aget_result(result.id)
        await found.arefresh()
        return await found.await_finished(WAIT)

    found = asyncio.run(look())
    assert (found.status, found.return_value) == ("SUCCESSFUL", 8)
