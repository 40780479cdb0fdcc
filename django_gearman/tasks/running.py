"""Tasks as Gearman jobs: one ``GearmanJob`` per task and queue, and what the worker runs.

Every task bound to a ``GearmanBackend`` is registered, for each queue of its backend, in the job
registry that ``manage.py gearman_worker`` serves, so one supervisor serves tasks and
``@gearman_job`` jobs alike and ``-q`` selects either by queue. On the wire a task call is the
job call ``{"args": [], "kwargs": {"id": RESULT_ID, "args": [...], "kwargs": {...}}}`` (the task's
JSON-normalised arguments inside our envelope); the job's own result is null, the task's return
value goes to the result store.

In the worker a task: moves its record READY -> RUNNING through the result store (``store.start``:
a cancelled, finished or held record skips the job; one taken over from a dead worker records
that attempt as lost), sends ``task_started``, runs with ``TaskContext`` if it
takes one, stores its JSON-normalised return value or its error (class path, message,
traceback), and sends ``task_finished`` (for a failure inside the exception handler, as Django's
backends do, then re-raises so the Gearman job ends in WORK_EXCEPTION).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import close_old_connections
from django.utils import timezone

from django_gearman import store
from django_gearman.calls import job_spec
from django_gearman.declaration import GearmanJob, registry
from django_gearman.reporting import current_job
from serializers import encode

from . import arguments
from .compat import (
    Task,
    TaskContext,
    TaskResult,
    TaskResultStatus,
    normalize_json,
    set_field,
    task_backends,
    task_finished,
    task_started,
)
from .errors import earlier_errors, task_error
from .naming import function_name

if TYPE_CHECKING:
    from django_gearman.models import JobRecord

    from .backend import GearmanBackend

log = logging.getLogger("django_gearman.tasks")

TaskRunner = Callable[..., None]


class TaskInterrupted(Exception):
    """A task raised a BaseException such as SystemExit: it is FAILED, the worker serves on."""


def register(backend: GearmanBackend, task: Task) -> None:
    """Make ``task`` servable on every queue of ``backend`` (once per task and queue); with no
    QUEUES listed (system check E002) only on the task's own queue."""
    for queue in sorted(backend.queues or {task.queue_name}):
        name = function_name(task.module_path, queue)
        if registry.find(name) is None:
            registry.add(
                GearmanJob(
                    func=_runner(backend.alias, task, queue),
                    name=name,
                    queue=queue,
                    serializer=backend.gearman_options.serializer,
                )
            )


def task_job(task: Task, queue: str) -> GearmanJob[Any, Any]:
    """The registered job of ``task`` on ``queue`` (``JobNotFound`` if none)."""
    return registry.get(function_name(task.module_path, queue))


def _runner(alias: str, task: Task, queue: str) -> TaskRunner:
    def run_task(id: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Run one delivery of a task (the Gearman job's function)."""
        backend: GearmanBackend = task_backends[alias]  # type: ignore[assignment]
        _execute(Delivery(backend, task, queue, id, args, kwargs))

    run_task.__qualname__ = f"run_task[{task.module_path}@{queue}]"
    return run_task


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a task's job to this worker: what the call envelope said."""

    backend: GearmanBackend
    task: Task
    queue: str
    result_id: str
    args: list[Any]
    kwargs: dict[str, Any]


def _execute(delivery: Delivery) -> None:
    stored = delivery.backend.gearman_options.store_results
    started = timezone.now()
    worker = store.worker_name()
    record: JobRecord | None = None
    if stored:
        close_old_connections()
        record_id = uuid.UUID(hex=delivery.result_id)
        decision = store.start(record_id, current_job().handle, worker)
        if decision is store.Start.SKIP:
            log.warning(
                "task id=%s path=%s: not READY in the result store (cancelled, already "
                "delivered, or held for later); skipped",
                delivery.result_id,
                delivery.task.module_path,
            )
            return
        record = store.fetch(record_id) if decision is store.Start.RUN else None
    result = _running_result(delivery, record, worker)
    set_field(result, "started_at", started)
    set_field(result, "last_attempted_at", started)
    try:
        _run(delivery.backend, delivery.task, delivery.queue, result, worker, record is not None)
    finally:
        if stored:
            close_old_connections()


def _running_result(delivery: Delivery, record: JobRecord | None, worker: str) -> TaskResult:
    task, backend = delivery.task, delivery.backend
    priority = task.priority
    if record is not None and record.task_priority is not None:
        priority = record.task_priority
    attempts = record.attempts if record is not None else 1
    return TaskResult(
        task=task.using(queue_name=delivery.queue, priority=priority, backend=backend.alias),
        id=delivery.result_id,
        status=TaskResultStatus.RUNNING,
        enqueued_at=record.enqueued_at if record is not None else None,
        started_at=None,
        last_attempted_at=None,
        finished_at=None,
        args=delivery.args,
        kwargs=delivery.kwargs,
        backend=backend.alias,
        errors=earlier_errors(record.attempt_errors) if record is not None else [],
        worker_ids=[worker] * max(attempts, 1),
    )


def _run(
    backend: GearmanBackend,
    task: Task,
    queue: str,
    result: TaskResult,
    worker: str,
    stored: bool,
) -> None:
    sender = type(backend)
    record_id = uuid.UUID(hex=result.id)
    task_started.send(sender, task_result=result)
    try:
        call = arguments.validate(task.func, task.takes_context, result.args, result.kwargs)
        call_args = (
            (TaskContext(task_result=result), *call.args) if task.takes_context else call.args
        )
        value = normalize_json(task.call(*call_args, **call.kwargs))
        blob = result_envelope(task, queue, value) if stored else b""
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        result.errors.append(task_error(store.ErrorInfo.from_exception(exc)))
        set_field(result, "finished_at", timezone.now())
        set_field(result, "status", TaskResultStatus.FAILED)
        if stored:
            store.finish_failed(record_id, worker, exc, None)
        task_finished.send(sender, task_result=result)
        if isinstance(exc, Exception):
            raise
        # SystemExit and the like end the task, not the worker process.
        raise TaskInterrupted(f"task {task.module_path} raised {type(exc).__name__}") from exc
    if stored:
        store.finish_successful(record_id, worker, blob)
    set_field(result, "_return_value", value)
    set_field(result, "finished_at", timezone.now())
    set_field(result, "status", TaskResultStatus.SUCCESSFUL)
    task_finished.send(sender, task_result=result)


def result_envelope(task: Task, queue: str, value: Any) -> bytes:
    """The stored return value: a JSON envelope, signed like the job's results."""
    spec = job_spec(task_job(task, queue))
    return encode(value, "json", job=spec.wire_name, signing_key=spec.signing_key)
