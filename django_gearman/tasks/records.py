"""The task's rows in the result store: one INSERT at enqueue, one UPDATE at start, one at finish.

A small adapter over ``JobRecord`` (the lifecycle's model) with exactly the writes the lifecycle
design fixes: the worker's start is a compare-and-set from READY, so a cancelled record or a
second delivery of one job is skipped, never run twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F

from django_gearman.models import JobRecord, ResultStatus

MAX_ID_LENGTH = 64  # django.tasks: a result id is an opaque string of at most 64 characters


@dataclass(frozen=True, slots=True)
class NewRecord:
    """What the client knows about a task when it enqueues it."""

    id: uuid.UUID
    job_name: str
    queue: str
    priority: str
    task_priority: int
    run_after: datetime | None
    released_at: datetime | None
    enqueued_at: datetime
    call: bytes
    backend: str


def insert(record: NewRecord) -> None:
    JobRecord.objects.create(
        id=record.id,
        job_name=record.job_name,
        queue=record.queue,
        status=ResultStatus.READY,
        priority=record.priority,
        task_priority=record.task_priority,
        run_after=record.run_after,
        released_at=record.released_at,
        enqueued_at=record.enqueued_at,
        call=record.call,
        backend=record.backend,
    )


def forget(record_id: uuid.UUID) -> None:
    """Drop the record of a task that never reached gearmand (the caller got the error)."""
    JobRecord.objects.filter(pk=record_id, status=ResultStatus.READY).delete()


def start(record_id: uuid.UUID, worker: str, now: datetime) -> JobRecord | None:
    """READY -> RUNNING for this attempt; None if the record is not READY (or not there)."""
    rows = JobRecord.objects.filter(pk=record_id, status=ResultStatus.READY).update(
        status=ResultStatus.RUNNING, started_at=now, worker=worker, attempts=F("attempts") + 1
    )
    if rows != 1:
        return None
    return JobRecord.objects.defer("call", "result").get(pk=record_id)


def finish_successful(record_id: uuid.UUID, now: datetime, result: bytes) -> None:
    JobRecord.objects.filter(pk=record_id, status=ResultStatus.RUNNING).update(
        status=ResultStatus.SUCCESSFUL, finished_at=now, result=result
    )


def finish_failed(
    record_id: uuid.UUID, now: datetime, error_type: str, message: str, traceback: str
) -> None:
    JobRecord.objects.filter(pk=record_id, status=ResultStatus.RUNNING).update(
        status=ResultStatus.FAILED,
        finished_at=now,
        error_type=error_type,
        error_message=message,
        traceback=traceback,
    )


def load(record_id: str, backend: str) -> JobRecord | None:
    """The record of result id ``record_id`` (32 hex digits) enqueued through ``backend``."""
    try:
        usable = isinstance(record_id, str) and len(record_id) <= MAX_ID_LENGTH
        key = uuid.UUID(hex=record_id) if usable else None
    except ValueError:
        key = None
    if key is None:
        return None
    return JobRecord.objects.filter(pk=key, backend=backend).first()
