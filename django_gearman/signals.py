"""Django signals of a job's life, sent in the process where each event happens.

Like django.tasks' ``task_enqueued``/``task_started``/``task_finished``, but a Gearman job is
enqueued by a client and run by a worker, so ``job_enqueued`` is sent by the client after
gearmand accepted the job (after the commit for ``using(on_commit=True)``), and ``job_started``
and ``job_finished`` by the worker process around the job function. Every job sends them, stored
or not; with no receiver connected a send costs one attribute check.

``JobAttempt`` is what a worker process (and eager mode) does around one attempt of a job
besides running it: these signals and, for a stored job only, its record (``store``; the models
are imported only then). ``JobLifecycle.attempt`` makes one only for an attempt that something
observes (a record id in its envelope, or a receiver of ``job_started``/``job_finished``), so a
job nobody listens to pays nothing for either.

A worker process also keeps Django's connection hygiene around every job
(``close_old_connections_if_opened``, as around a request: old and broken connections are closed
before and after the job, so ``CONN_MAX_AGE`` holds and one job's database errors never reach
the next). Eager mode does not: it runs inside the caller's request or transaction.

The sender is the job object registered by ``@gearman_job`` (connect with
``sender=my_job``). Keyword arguments:

* ``job_enqueued``: ``handle`` (the Gearman handle; "" for a foreground job, which is sent after
  it finished), ``result`` (the ``StoredResult`` of a stored job, else ``None``).
* ``job_started``: ``handle``, ``job_id`` (the record id of a stored job, a ``uuid.UUID``,
  else ``None``).
* ``job_finished``: ``handle``, ``job_id``, ``status`` (a ``ResultStatus`` value:
  ``"SUCCESSFUL"``, ``"FAILED"``, or ``"READY"`` when a retry was scheduled), ``error`` (the
  exception, or ``None``). It is sent inside the exception handler of a failed job, so
  ``sys.exc_info()`` is the job's exception.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import close_old_connections, connections
from django.db.backends.signals import connection_created
from django.dispatch import Signal, receiver

from .exceptions import JobSkipped
from .retries import NO_RETRIES, RetryPolicy

log = logging.getLogger("django_gearman.worker")

job_enqueued = Signal()
job_started = Signal()
job_finished = Signal()

SUCCESSFUL = "SUCCESSFUL"
FAILED = "FAILED"

# Whether this process ever opened a database connection: until it has, closing old
# connections has nothing to close, and a worker of jobs that never touch the database pays
# nothing for the hygiene (``close_old_connections`` costs a few microseconds per call).
_opened_a_connection = False


@receiver(connection_created, dispatch_uid="django_gearman.signals.connection_opened")
def _connection_opened(**kwargs: Any) -> None:
    global _opened_a_connection
    _opened_a_connection = True


def close_old_connections_if_opened() -> None:
    """Django's ``close_old_connections``, skipped while no connection was ever opened."""
    if _opened_a_connection:
        close_old_connections()


class JobLifecycle:
    """The signals and records of every attempt of one job in this process. ``sender`` is the
    registered job (the signals' sender), ``policy`` its retries, ``hygiene`` whether broken
    connections are closed before a record is written (a worker's; eager mode runs inside the
    caller's transaction, whose connections are not ours to close). Implements
    ``calls.Lifecycle``."""

    __slots__ = ("hygiene", "policy", "sender")

    def __init__(self, sender: Any, policy: RetryPolicy = NO_RETRIES, *, hygiene: bool = True):
        self.sender = sender
        self.policy = policy
        self.hygiene = hygiene

    def attempt(self, fields: Mapping[str, str]) -> JobAttempt | None:
        """The hooks of one attempt whose envelope carried ``fields``; ``None`` when nothing
        observes it: no record id, and no receiver of either signal connected now (for any
        sender: asking for this sender's receivers would cost more than the attempt)."""
        if "id" in fields or job_started.receivers or job_finished.receivers:
            return JobAttempt(self.sender, self.policy, hygiene=self.hygiene)
        return None


class JobAttempt:
    """One attempt of one job in this process: see the module docstring. ``sender`` is the
    registered job (the signals' sender), ``policy`` its retries, ``hygiene`` as in
    ``JobLifecycle``. Implements ``calls.AttemptHooks``; used once."""

    __slots__ = ("_worker", "handle", "hygiene", "policy", "record_id", "sender", "started_ok")

    def __init__(self, sender: Any, policy: RetryPolicy = NO_RETRIES, *, hygiene: bool = True):
        self.sender = sender
        self.policy = policy
        self.hygiene = hygiene
        self.handle = ""
        self.record_id: uuid.UUID | None = None
        self.started_ok = False
        self._worker = ""

    def started(self, handle: str, fields: Mapping[str, str]) -> BaseException | None:
        self.handle = handle
        raw_id = fields.get("id")
        if raw_id is not None:
            refusal = self._start_record(raw_id)
            if refusal is not None:
                return refusal
        self.started_ok = True
        if job_started.receivers:
            job_started.send(sender=self.sender, handle=handle, job_id=self.record_id)
        return None

    def _start_record(self, raw_id: str) -> BaseException | None:
        from . import store

        record_id = store.parse_record_id(raw_id)
        if record_id is None or record_id.hex != raw_id:
            log.warning(
                "job handle=%s: malformed record id %.40r; not recorded", self.handle, raw_id
            )
            return None
        self._worker = store.worker_name()
        outcome = store.start(record_id, self.handle, self._worker)
        if outcome is store.Start.SKIP:
            log.info("job record %s: not READY (cancelled, finished or taken): skipped", raw_id)
            return JobSkipped(f"job record {raw_id} is cancelled, finished or running elsewhere")
        if outcome is store.Start.UNRECORDED:
            log.warning("job record %s: not in the database; the job runs unrecorded", raw_id)
        else:
            self.record_id = record_id
        return None

    def succeeded(self, result: bytes) -> None:
        status = SUCCESSFUL
        if self.record_id is not None:
            from . import store

            if self.hygiene:
                _discard_broken_connections()
            if not store.finish_successful(self.record_id, self._worker, result):
                log.warning("job record %s: taken over by another worker", self.record_id)
        self._finished(status, None)

    def failed(self, exc: BaseException, refused: bool) -> None:
        if not self.started_ok:
            return
        status: str = FAILED
        if self.record_id is not None:
            from . import store

            if self.hygiene:
                _discard_broken_connections()
            policy = None if refused else self.policy
            status = store.finish_failed(self.record_id, self._worker, exc, policy) or FAILED
        self._finished(status, exc)

    def _finished(self, status: str, error: BaseException | None) -> None:
        if job_finished.receivers:
            job_finished.send(
                sender=self.sender,
                handle=self.handle,
                job_id=self.record_id,
                status=status,
                error=error,
            )

    def cancel_requested(self) -> bool:
        if self.record_id is None:
            return False
        from . import store

        return store.cancel_requested(self.record_id)


def _discard_broken_connections() -> None:
    """Close connections a job left unusable (outside autocommit, or broken), so that the
    record's own write never runs on them."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        broken = connection.get_autocommit() != connection.settings_dict["AUTOCOMMIT"] or (
            connection.errors_occurred and not connection.is_usable()
        )
        if broken:
            connection.close()


__all__ = [
    "JobAttempt",
    "JobLifecycle",
    "close_old_connections_if_opened",
    "job_enqueued",
    "job_finished",
    "job_started",
]
