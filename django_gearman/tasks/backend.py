"""``GearmanBackend``: django.tasks' backend API on Gearman jobs and the result store.

``enqueue`` validates the task and its arguments, writes the task's ``JobRecord`` (READY) and
submits a background Gearman job whose unique id is the result id, at the Gearman priority that
``priority.gearman_priority`` gives. Inside a transaction the submit waits for the commit, so a
worker never receives a task whose record it cannot see yet, and a rollback sends nothing. A
task with a future ``run_after`` is only stored: ``manage.py gearman_scheduler`` hands it to
gearmand when it falls due. ``get_result`` reads the record from any process.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core import checks
from django.db import transaction
from django.utils import timezone

from django_gearman import store
from django_gearman.calls import JobSpec, job_spec, run_eagerly
from django_gearman.client import GearmanClient
from django_gearman.conf import read_settings
from django_gearman.declaration import SubmitOptions
from django_gearman.exceptions import GearmanJobError, JobFailed, JobRefused

from . import arguments, running
from .checks import backend_problems
from .compat import (
    BaseTaskBackend,
    InvalidTaskBackend,
    Task,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_enqueued,
)
from .lookup import task_result
from .naming import queue_name_problem
from .options import BackendOptions, parse_options
from .priority import gearman_priority, wire_priority


class TaskNotQueued(GearmanJobError):
    """gearmand did not accept the task's job: nothing was queued, its record is FAILED."""


class GearmanBackend(BaseTaskBackend):
    """Runs django.tasks tasks on ``manage.py gearman_worker``; results in the result store."""

    supports_async_task = True
    supports_priority = True
    supports_defer = True
    supports_get_result = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        parsed, problems = parse_options(self.options)
        problems += [p for q in sorted(self.queues) if (p := queue_name_problem(q)) is not None]
        if problems:
            raise InvalidTaskBackend(f"TASKS[{alias!r}]: " + "; ".join(problems))
        self.gearman_options: BackendOptions = parsed
        if not parsed.store_results:  # no store: nothing to read back, nowhere to wait
            self.supports_get_result = False
            self.supports_defer = False
        self._client: GearmanClient | None = None

    # -- declaring ---------------------------------------------------------------------------

    def validate_task(self, task: Task) -> None:
        """Django's checks, then the task is registered for ``gearman_worker``."""
        super().validate_task(task)
        running.register(self, task)

    # -- enqueueing --------------------------------------------------------------------------

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        now = timezone.now()
        result: TaskResult[Any] = TaskResult(
            task=task,
            id=uuid.uuid4().hex,
            status=TaskResultStatus.READY,
            enqueued_at=now,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        arguments.validate(task.func, task.takes_context, result.args, result.kwargs)
        spec = job_spec(running.task_job(task, task.queue_name))
        payload = spec.encode_call(
            (), {"id": result.id, "args": result.args, "kwargs": result.kwargs}
        )
        deferred = task.run_after is not None and task.run_after > now
        if self.gearman_options.store_results:
            store.insert(
                uuid.UUID(hex=result.id),
                job_name=spec.name,
                call=payload,
                queue=task.queue_name,
                priority=gearman_priority(task.priority),
                run_after=task.run_after if deferred else None,
                task_priority=task.priority,
                backend=self.alias,
            )
        if not deferred:
            submit = partial(self._submit, spec, payload, result.id, task.priority)
            if self.gearman_options.store_results and store.in_transaction():
                transaction.on_commit(submit, using=store.database_alias())
            else:
                submit()
                if spec.eager and self.gearman_options.store_results:
                    result = self.get_result(result.id)  # finished, as ImmediateBackend's is
        task_enqueued.send(type(self), task_result=result)
        return result

    def _submit(self, spec: JobSpec, payload: bytes, result_id: str, priority: int) -> None:
        """Hand the job to gearmand (or run it here in eager mode). A job gearmand did not take
        is FAILED in the store (``NotSent``) and the error raised: nothing waits for it."""
        name = gearman_priority(priority)
        stored = self.gearman_options.store_results
        record_id = uuid.UUID(hex=result_id)
        try:
            if spec.eager:
                try:
                    run_eagerly(spec, spec, payload, SubmitOptions(priority=name, background=True))
                except JobRefused:  # the call itself was refused: the caller must see it
                    raise
                except JobFailed:  # the task's own failure: FAILED in the store, as on a worker
                    pass
                return
            outcome = self.client().transport.submit(
                spec.wire_name,
                payload,
                unique=result_id,
                priority=wire_priority(priority),
                background=True,
                timeout=spec.timeout,
            )
            if outcome.state != "queued" or not outcome.handle:
                raise TaskNotQueued(f"gearmand did not queue task {spec.name!r} ({outcome.state})")
        except BaseException as exc:
            if stored:
                store.note_not_sent(record_id, exc)
            raise
        if stored:  # ``cancel(id)`` finds the job in gearmand by its handle
            store.note_sent(record_id, outcome.handle.decode("ascii", "replace"), outcome.server)

    def use_client(self, client: GearmanClient | None) -> None:
        """Send through ``client`` from now on (a private gearmand in a benchmark, a test);
        ``None`` goes back to the configured servers."""
        self._client = client

    def client(self) -> GearmanClient:
        """The backend's client (``OPTIONS["SERVERS"]``, else ``GEARMAN_SERVERS``)."""
        if self._client is None:
            servers = self.gearman_options.servers
            self._client = GearmanClient(list(servers) if servers else None)
        return self._client

    # -- results -----------------------------------------------------------------------------

    def get_result(self, result_id: str) -> TaskResult:
        """The task's current state, from any process (``TaskResultDoesNotExist`` if unknown)."""
        if not self.gearman_options.store_results:
            raise TaskResultDoesNotExist(
                f"{result_id!r}: TASKS[{self.alias!r}] keeps no results (STORE_RESULTS is False)"
            )
        record_id = store.parse_record_id(result_id)
        record = store.fetch(record_id) if record_id is not None else None
        if record is None or record.backend != self.alias:
            raise TaskResultDoesNotExist(str(result_id)[:64])
        return task_result(record)

    # -- checks ------------------------------------------------------------------------------

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        yield from super().check(**kwargs)
        yield from backend_problems(self.alias, self.queues, self.gearman_options, read_settings())
