"""``wait(result, timeout)``: block until a task enqueued on ``GearmanBackend`` has finished.

django.tasks itself offers only ``refresh()``, so a caller that needs the outcome reads the
record again and again, and either hammers the database or hears of the end late. A task of
this backend is a background Gearman job whose unique id is its result id, and gearmand attaches
a later foreground submit of the same function and unique id to that job: the waiter is then
told by the job's WORK_COMPLETE the moment the worker is done (the worker writes the record
before it answers) and reads the record once more. No polling while gearmand holds the job.

Where gearmand cannot tell (a task held for ``run_after``, a server that cannot be reached,
``ATTACH_LIMIT`` attachments that ended with the task unfinished), the wait re-reads the record
at growing intervals, 1 ms to 50 ms, as ``StoredResult.wait`` does. If the job ended between
the last read and the attachment, gearmand starts a new job with the same call: the worker skips
it (its record is finished) and the waiter reads the outcome. Bounded in time by ``timeout``.
"""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone

from django_gearman.calls import job_spec
from django_gearman.exceptions import GearmanJobError
from django_gearman.protocol import GearmanError
from django_gearman.results import wait_pauses

from .backend import GearmanBackend
from .compat import InvalidTaskBackend, TaskResult, TaskResultStatus, task_backends
from .priority import wire_priority
from .running import task_job

ATTACH_LIMIT = 3  # attachments per wait before it only re-reads the record
UNFINISHED = frozenset({TaskResultStatus.READY, TaskResultStatus.RUNNING})


class TaskWaitTimeout(GearmanJobError, TimeoutError):
    """``wait(result, timeout)`` ended before the task finished; the task itself goes on."""


def wait(result: TaskResult, timeout: float) -> TaskResult:
    """Refresh ``result`` (in place) until its task finished and return it; ``TaskWaitTimeout``
    after ``timeout`` seconds, ``InvalidTaskBackend`` for a result of another backend,
    ``TaskResultDoesNotExist`` when the backend keeps no results."""
    pauses = wait_pauses(timeout)  # raises ValueError for a bad timeout before anything is read
    deadline = time.monotonic() + timeout
    backend = task_backends[result.backend]
    if not isinstance(backend, GearmanBackend):
        raise InvalidTaskBackend(
            f"wait() is for results of GearmanBackend, not of {type(backend).__name__}"
        )
    attachments = ATTACH_LIMIT
    while True:
        result.refresh()
        if result.status not in UNFINISHED:
            return result
        left = deadline - time.monotonic()
        if attachments and left > 0 and _in_gearmand(result) and _attach(backend, result, left):
            attachments -= 1
            continue
        pause = next(pauses, None)
        if pause is None:
            raise TaskWaitTimeout(
                f"task {result.task.module_path} {result.id} still {result.status} after {timeout}s"
            )
        time.sleep(pause)


def _in_gearmand(result: TaskResult) -> bool:
    """Whether gearmand should hold the task's job now (not a task held for a later time)."""
    run_after = result.task.run_after
    return run_after is None or run_after <= timezone.now()


def _attach(backend: GearmanBackend, result: TaskResult, left: float) -> bool:
    """Wait up to ``left`` seconds for the task's job through a foreground submit of the same
    function and unique id; ``False`` if gearmand could not be asked (then the caller polls)."""
    task = result.task
    spec = job_spec(task_job(task, task.queue_name))
    call: dict[str, Any] = {"id": result.id, "args": result.args, "kwargs": result.kwargs}
    try:
        backend.client().transport.submit(
            spec.wire_name,
            spec.encode_call((), call),
            unique=result.id,
            priority=wire_priority(task.priority),
            timeout=left,
        )
    except GearmanError:  # timed out, unreachable, lost: the record is the truth, poll it
        return False
    return True
