"""A ``TaskResult`` rebuilt from its record, for ``get_result(id)`` in any process.

The task is found again by its module path (the job name without ``@queue``), as Django's own
pickling of a ``Task`` does, and given the record's queue, priority, ``run_after`` and backend;
the arguments come from the stored call envelope and the return value from the stored result
envelope (both verified as the worker verifies them). A CANCELLED record is FAILED: django.tasks
has no other status for a task that will not run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from django_gearman.calls import job_spec
from serializers import decode

from .compat import Task, TaskResult, TaskResultDoesNotExist, TaskResultStatus, set_field
from .errors import earlier_errors, stored_error
from .naming import split_function_name
from .running import task_job

if TYPE_CHECKING:
    from django_gearman.models import JobRecord

_STATUSES = {status.value: status for status in TaskResultStatus}


def _stored_task(record: JobRecord) -> Task:
    try:
        module_path, queue = split_function_name(record.job_name)
        found = import_string(module_path)
    except (ImportError, ValueError) as exc:
        raise TaskResultDoesNotExist(
            f"result {record.id.hex}: its task {record.job_name!r} cannot be imported ({exc})"
        ) from exc
    if not isinstance(found, Task):
        raise TaskResultDoesNotExist(
            f"result {record.id.hex}: {module_path!r} is no longer a task ({type(found).__name__})"
        )
    changes: dict[str, Any] = {"queue_name": record.queue or queue, "backend": record.backend}
    if record.task_priority is not None:
        changes["priority"] = record.task_priority
    if record.run_after is not None:
        changes["run_after"] = record.run_after
    return found.using(**changes)


def task_result(record: JobRecord) -> TaskResult:
    """The record as django.tasks' ``TaskResult`` (raises ``TaskResultDoesNotExist`` when its
    task is gone)."""
    task = _stored_task(record)
    spec = job_spec(task_job(task, task.queue_name))
    call = decode(bytes(record.call), spec.request_policy, job=spec.wire_name).value["kwargs"]
    status = _STATUSES.get(record.status, TaskResultStatus.FAILED)
    errors = earlier_errors(record.attempt_errors)
    if status == TaskResultStatus.FAILED and record.error_type:
        errors.append(stored_error(record.error_type, record.traceback))
    result: TaskResult[Any] = TaskResult(
        task=task,
        id=record.id.hex,
        status=status,
        enqueued_at=record.enqueued_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        last_attempted_at=record.started_at,
        args=call["args"],
        kwargs=call["kwargs"],
        backend=record.backend,
        errors=errors,
        worker_ids=[record.worker] * record.attempts if record.worker else [],
    )
    if status == TaskResultStatus.SUCCESSFUL and record.result is not None:
        value = decode(bytes(record.result), spec.result_policy, job=spec.wire_name).value
        set_field(result, "_return_value", value)
    return result
