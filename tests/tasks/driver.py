"""A client process for the task tests: ``python -m tests.tasks.driver COMMAND JSON``.

It stands for "another process" of the project: it enqueues tasks and reads results by id
through the public django.tasks API only, and prints one JSON object (a TaskResult or an
error) on stdout. Commands (the JSON argument's keys in brackets):

* ``enqueue`` {task, args, kwargs (Python literals), using, run_after_in, transaction,
  asynchronous}
* ``enqueue_many`` {items: [enqueue requests]}
* ``result`` {id, wait, task} -- ``backend.get_result`` (or ``task.get_result``), polled up to
  ``wait`` seconds until the result is finished; ``refresh`` re-reads a result object.
* ``wait`` {an enqueue request, or id; timeout, attach_again} -- ``django_gearman.tasks.wait``
  on the result, with the queries it made and the error it raised (``attach_again``: then one
  more attachment to the finished task's job, as a wait that lost the race would make).
"""

from __future__ import annotations

import ast
import asyncio
import json
import sys
import time
from datetime import datetime, timedelta
from typing import Any

POLL_SECONDS = 0.05


def describe(result: Any) -> dict[str, Any]:
    """Every field of a TaskResult a test may check, as JSON."""
    from django_gearman.tasks.compat import TaskResultStatus

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    out: dict[str, Any] = {
        "id": result.id,
        "status": str(result.status),
        "args": result.args,
        "kwargs": result.kwargs,
        "backend": result.backend,
        "errors": [
            {"path": e.exception_class_path, "traceback": e.traceback, "class": _resolves(e)}
            for e in result.errors
        ],
        "worker_ids": result.worker_ids,
        "attempts": result.attempts,
        "is_finished": result.is_finished,
        "enqueued_at": when(result.enqueued_at),
        "started_at": when(result.started_at),
        "finished_at": when(result.finished_at),
        "last_attempted_at": when(result.last_attempted_at),
        "task": {
            "module_path": result.task.module_path,
            "priority": result.task.priority,
            "queue_name": result.task.queue_name,
            "run_after": when(result.task.run_after),
            "backend": result.task.backend,
        },
    }
    if result.status == TaskResultStatus.SUCCESSFUL:
        out["return_value"] = result.return_value
    else:
        try:
            result.return_value  # noqa: B018 - must raise before success
        except ValueError as exc:
            out["return_value_error"] = str(exc)
    return out


def _resolves(error: Any) -> str | None:
    try:
        cls = error.exception_class
    except (ImportError, ValueError):
        return None
    return f"{cls.__module__}.{cls.__qualname__}"


def _task(path: str) -> Any:
    from django.utils.module_loading import import_string

    return import_string(path)


def enqueue(request: dict[str, Any]) -> dict[str, Any]:
    return describe(_enqueued(request))


def _enqueued(request: dict[str, Any]) -> Any:
    from django.db import transaction
    from django.utils import timezone

    task = _task(request["task"])
    using = dict(request.get("using", {}))
    if "run_after_in" in request:
        using["run_after"] = timezone.now() + timedelta(seconds=request["run_after_in"])
    if using:
        task = task.using(**using)
    # Python literals, so tuples and bytes reach enqueue() as the caller wrote them.
    args = ast.literal_eval(request.get("args", "[]"))
    kwargs = ast.literal_eval(request.get("kwargs", "{}"))
    if request.get("asynchronous"):
        return asyncio.run(task.aenqueue(*args, **kwargs))
    outcome = request.get("transaction")
    if outcome is None:
        return task.enqueue(*args, **kwargs)
    with transaction.atomic():
        result = task.enqueue(*args, **kwargs)
        if outcome == "rollback":
            transaction.set_rollback(True)
    return result


def enqueue_many(request: dict[str, Any]) -> dict[str, Any]:
    """Several enqueues in one process, in order (for tests about queue order)."""
    return {"results": [enqueue(item) for item in request["items"]]}


def result(request: dict[str, Any]) -> dict[str, Any]:
    from django_gearman.tasks.compat import task_backends

    deadline = time.monotonic() + float(request.get("wait", 0))
    reader = _task(request["task"]) if "task" in request else task_backends["default"]
    if request.get("asynchronous"):
        found = asyncio.run(reader.aget_result(request["id"]))
    else:
        found = reader.get_result(request["id"])
    while not found.is_finished and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        if request.get("asynchronous"):
            asyncio.run(found.arefresh())
        else:
            found.refresh()
    return describe(found)


def wait(request: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_gearman.tasks import wait as wait_for
    from django_gearman.tasks.compat import task_backends

    backend = task_backends["default"]
    found = backend.get_result(request["id"]) if "id" in request else _enqueued(request)
    error = None
    with CaptureQueriesContext(connection) as queries:
        try:
            wait_for(found, request["timeout"])
        except Exception as exc:
            error = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if request.get("attach_again"):
        from django_gearman.tasks.waiting import _attach

        _attach(backend, found, 30.0)  # type: ignore[arg-type]
        found.refresh()
    return {**describe(found), "queries": len(queries.captured_queries), "wait_error": error}


COMMANDS = {"enqueue": enqueue, "enqueue_many": enqueue_many, "result": result, "wait": wait}


def main(argv: list[str]) -> int:
    import django

    django.setup()
    command, request = argv[1], json.loads(argv[2])
    try:
        answer = COMMANDS[command](request)
    except Exception as exc:
        answer = {"error": f"{type(exc).__module__}.{type(exc).__qualname__}", "message": str(exc)}
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
