"""``JobRecord``: one row per stored job, the only state django-gearman keeps about a job.

Gearman keeps no results and no history, so a job that opted into the store
(``@gearman_job(store_result=True)`` or ``GEARMAN_STORE_RESULTS``) gets a row here: inserted by
the client before the job is sent, updated by the worker when it starts and when it finishes.
Deferred and retried jobs wait here too (READY, ``run_after`` set, ``released_at`` null) until
the scheduler hands them to gearmand. Jobs that did not opt in never import this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeAlias

from django.db import models

_OptionalTime: TypeAlias = "models.DateTimeField[datetime | None, datetime | None]"


class ResultStatus(models.TextChoices):
    """django.tasks' status names, plus CANCELLED (Gearman jobs can be taken out of a queue)."""

    READY = "READY", "Ready"
    RUNNING = "RUNNING", "Running"
    SUCCESSFUL = "SUCCESSFUL", "Successful"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


FINISHED_STATUSES = frozenset(
    {ResultStatus.SUCCESSFUL, ResultStatus.FAILED, ResultStatus.CANCELLED}
)


class JobRecord(models.Model):
    """The life of one job: what was called, where it ran, how often, and how it ended.

    ``id`` is made by the client and travels in the call envelope (header field ``id=``);
    ``priority`` is Gearman's (high, normal, low), ``task_priority`` django.tasks' -100..100;
    ``run_after`` null means now; ``released_at`` null means the scheduler still holds the job;
    ``started_at`` and ``worker`` ("host:pid") are those of the current or last attempt;
    ``call``/``result`` are envelopes as sent (the scheduler re-sends ``call``);
    ``attempt_errors`` lists earlier attempts' errors; ``handle``/``server`` locate the job in
    gearmand; ``backend`` is the django.tasks backend alias (blank for ``@gearman_job``).
    """

    id: models.UUIDField[uuid.UUID | str, uuid.UUID] = models.UUIDField(
        primary_key=True, default=uuid.uuid4, editable=False
    )
    job_name: models.CharField[str, str] = models.CharField(max_length=255)
    queue: models.CharField[str, str] = models.CharField(max_length=255, blank=True, default="")
    status: models.CharField[str, str] = models.CharField(
        max_length=10, choices=ResultStatus.choices, default=ResultStatus.READY
    )
    priority: models.CharField[str, str] = models.CharField(max_length=6, default="normal")
    task_priority: models.SmallIntegerField[int | None, int | None] = models.SmallIntegerField(
        null=True, blank=True
    )
    run_after: _OptionalTime = models.DateTimeField(null=True, blank=True)
    released_at: _OptionalTime = models.DateTimeField(null=True, blank=True)
    enqueued_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    started_at: _OptionalTime = models.DateTimeField(null=True, blank=True)
    finished_at: _OptionalTime = models.DateTimeField(null=True, blank=True)
    attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    max_attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=1)
    worker: models.CharField[str, str] = models.CharField(max_length=255, blank=True, default="")
    call: models.BinaryField[bytes, bytes | memoryview] = models.BinaryField()
    result: models.BinaryField[bytes | None, bytes | memoryview | None] = models.BinaryField(
        null=True, blank=True
    )
    error_type: models.CharField[str, str] = models.CharField(
        max_length=255, blank=True, default=""
    )
    error_message: models.TextField[str, str] = models.TextField(blank=True, default="")
    traceback: models.TextField[str, str] = models.TextField(blank=True, default="")
    attempt_errors: models.JSONField[list[dict[str, str]], list[dict[str, str]]] = models.JSONField(
        default=list, blank=True
    )
    handle: models.CharField[str, str] = models.CharField(max_length=255, blank=True, default="")
    server: models.CharField[str, str] = models.CharField(max_length=255, blank=True, default="")
    retry_of: models.ForeignKey[JobRecord | None, JobRecord | None] = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    backend: models.CharField[str, str] = models.CharField(max_length=100, blank=True, default="")
    cancel_requested: models.BooleanField[bool, bool] = models.BooleanField(default=False)

    class Meta:
        app_label = "django_gearman"
        verbose_name = "job record"
        indexes = [
            models.Index(fields=["status", "run_after"], name="gearman_status_run_after"),
            models.Index(fields=["job_name", "status"], name="gearman_name_status"),
            models.Index(fields=["enqueued_at"], name="gearman_enqueued_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(task_priority__isnull=True)
                | models.Q(task_priority__gte=-100, task_priority__lte=100),
                name="gearman_task_priority_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_name} {self.id.hex} {self.status}"


class PeriodicRun(models.Model):
    """One slot of a periodic job that a scheduler ran: ``(job_name, slot)`` is unique, so when
    several schedulers see the same slot, the one whose insert wins runs it and the others skip.
    ``record`` is the JobRecord of that run (written in the same transaction). Owned by
    ``scheduler.py`` (migration 0002)."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    job_name: models.CharField[str, str] = models.CharField(max_length=255)
    slot: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    record: models.ForeignKey[JobRecord | None, JobRecord | None] = models.ForeignKey(
        JobRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="periodic_runs"
    )

    class Meta:
        app_label = "django_gearman"
        verbose_name = "periodic run"
        constraints = [
            models.UniqueConstraint(fields=["job_name", "slot"], name="gearman_periodic_run_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.job_name} @ {self.slot.isoformat()}"
