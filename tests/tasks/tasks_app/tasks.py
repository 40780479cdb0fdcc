"""django.tasks tasks run by real ``gearman_worker`` processes in the tests.

Each one leaves evidence the tests can read from another process: its return value in the
result store, or a line in the file named by ``TEST_TASKS_EVENTS`` (see ``events.py``).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from django_gearman.tasks.compat import USES_DJANGO_TASKS, TaskContext

from .events import record_event

if TYPE_CHECKING or not USES_DJANGO_TASKS:
    from django_tasks import task
else:
    from django.tasks import task


class TaskProblem(ValueError):
    """Raised by ``fail`` so the tests can resolve its class path."""


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Returns its arguments as the worker received them (after JSON normalisation)."""
    return {"args": list(args), "kwargs": kwargs}


@task()
def fail(message: str) -> None:
    raise TaskProblem(message)


@task()
def unserialisable_result() -> object:
    return object()


@task(takes_context=True)
def with_context(context: TaskContext, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "id": context.task_result.id,
        "attempt": context.attempt,
        "status": str(context.task_result.status),
        "worker_ids": context.task_result.worker_ids,
    }


@task()
async def sleepy_async(delay: float) -> str:
    await asyncio.sleep(delay)
    return "awake"


@task(priority=0)
def mark(label: str) -> str:
    """Appends ``label`` to the events file: the order of runs is the order of lines."""
    record_event("ran", label)
    return label


@task()
def hold_until(gate: str) -> int:
    """Holds a worker until the file ``gate`` exists (at most 60 s), so later tasks queue up."""
    deadline = time.monotonic() + 60
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.getpid()


@task(queue_name="emails")
def send_mail(to: str) -> str:
    return f"sent to {to}"


@task()
def exit_task() -> None:
    raise SystemExit("leaving")
