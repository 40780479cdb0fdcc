"""What the caller of a stored job holds: ``StoredResult``, lookup by id, waiting, cancelling.

``job.dispatch(...)`` of a job with ``store_result`` returns a ``StoredResult`` (as django.tasks'
``enqueue`` returns a ``TaskResult``): its ``id`` is the record's, made by the client before the
job is sent, so any process can look the job up later with ``job.get_result(id)``. The result
value is stored as the worker's result envelope and decoded (and validated against the job's
return annotation) only when ``return_value`` is read.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from django.utils import timezone

from .exceptions import ConfigurationError, GearmanJobError
from .protocol import NoServerAvailable
from .schedules import deferred_until
from .signals import job_enqueued

if TYPE_CHECKING:
    from .client import GearmanClient, PreparedCall
    from .declaration import GearmanJob, SubmitOptions
    from .models import JobRecord

T = TypeVar("T")
log = logging.getLogger("django_gearman.results")

# A wait reads the record after 1 ms, then at intervals growing by half up to 50 ms: a job of a
# millisecond is seen within about a millisecond of its end, and a long wait costs at most 20
# primary-key reads a second (about 10 in its first 0.1 s).
WAIT_FIRST_INTERVAL = 0.001  # seconds before the first read again
WAIT_MAX_INTERVAL = 0.05  # the interval grows by half each time, up to this
FINISHED = frozenset({"SUCCESSFUL", "FAILED", "CANCELLED"})


class ResultDoesNotExist(GearmanJobError, LookupError):
    """No stored job has this id (it was never stored, was deleted, or the id is malformed)."""


class ResultMismatch(GearmanJobError, LookupError):
    """The stored job with this id belongs to another job than the one asked."""


class ResultNotReady(GearmanJobError, ValueError):
    """``return_value`` was read before the job succeeded (see ``status`` and ``errors``)."""


class ResultTimeout(GearmanJobError, TimeoutError):
    """``wait(timeout)`` ended before the job finished; the job itself goes on."""


@dataclass(frozen=True, slots=True)
class StoredError:
    """One failed attempt: exception class path (``builtins.ValueError``), message and, for the
    last failure, its traceback (text, never re-executed)."""

    type: str
    message: str
    traceback: str = ""
    worker: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class StoredResult(Generic[T]):
    """The state of one stored job as last read; ``refresh()`` reads it again (in place)."""

    id: str
    job_name: str
    status: str
    queue: str = ""
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run_after: datetime | None = None
    attempts: int = 0
    max_attempts: int = 1
    worker: str = ""
    handle: str = ""
    server: str = ""
    cancel_requested: bool = False
    errors: tuple[StoredError, ...] = ()
    _result: bytes | None = field(default=None, repr=False)
    _job: GearmanJob[Any, T] | None = field(default=None, repr=False)

    @classmethod
    def from_record(
        cls, record: JobRecord, job: GearmanJob[Any, Any] | None = None
    ) -> StoredResult[Any]:
        earlier = tuple(
            StoredError(
                str(entry.get("type", "")),
                str(entry.get("message", "")),
                worker=str(entry.get("worker", "")),
            )
            for entry in record.attempt_errors or ()
            if isinstance(entry, dict)
        )
        last = (
            (StoredError(record.error_type, record.error_message, record.traceback, record.worker),)
            if record.error_type
            else ()
        )
        return cls(
            id=record.id.hex,
            job_name=record.job_name,
            status=str(record.status),
            queue=record.queue,
            enqueued_at=record.enqueued_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            run_after=record.run_after,
            attempts=record.attempts,
            max_attempts=record.max_attempts,
            worker=record.worker,
            handle=record.handle,
            server=record.server,
            cancel_requested=record.cancel_requested,
            errors=earlier + last,
            _result=bytes(record.result) if record.result is not None else None,
            _job=job,
        )

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def return_value(self) -> T:
        """The job's return value, decoded by its result serializer and typed by its return
        annotation; ``ResultNotReady`` unless SUCCESSFUL."""
        if self.status != "SUCCESSFUL" or self._result is None:
            raise ResultNotReady(f"job {self.job_name} {self.id} is {self.status}, not SUCCESSFUL")
        from .calls import job_spec, remote_spec
        from .declaration import registry

        local = self._job or registry.find(self.job_name)
        spec = job_spec(local) if local is not None else remote_spec(self.job_name, None)
        value: T = spec.decode_result(self._result)
        return value

    def refresh(self) -> None:
        """Read the record again and update this object (as django.tasks' ``refresh``)."""
        self._copy_from(get_result(self._job or self.job_name, self.id))

    async def arefresh(self) -> None:
        self._copy_from(await aget_result(self._job or self.job_name, self.id))

    def wait(self, timeout: float) -> StoredResult[T]:
        """Refresh until the job finished; ``ResultTimeout`` after ``timeout`` seconds. Reads
        at growing intervals (1 ms up to 50 ms): a short job is seen at once, a long wait
        reads at most 20 times a second."""
        pauses = wait_pauses(timeout)
        while True:
            self.refresh()
            if self.is_finished:
                return self
            time.sleep(self._next_pause(pauses, timeout))

    async def await_finished(self, timeout: float) -> StoredResult[T]:
        """``wait`` for asyncio code."""
        pauses = wait_pauses(timeout)
        while True:
            await self.arefresh()
            if self.is_finished:
                return self
            await asyncio.sleep(self._next_pause(pauses, timeout))

    def _next_pause(self, pauses: Iterator[float], timeout: float) -> float:
        pause = next(pauses, None)
        if pause is None:
            raise ResultTimeout(
                f"job {self.job_name} {self.id} still {self.status} after {timeout}s"
            )
        return pause

    def _copy_from(self, other: StoredResult[Any]) -> None:
        for item in fields(self):
            object.__setattr__(self, item.name, getattr(other, item.name))


def wait_pauses(timeout: float) -> Iterator[float]:
    """Sleeps of a bounded wait: growing by half from 1 ms to 50 ms, ending at the deadline.
    ``ValueError`` at once (before anything is read) for a timeout that is not a non-negative
    number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
        raise ValueError(f"timeout must be a non-negative number of seconds, not {timeout!r}")
    return _pauses_until(time.monotonic() + timeout)


def _pauses_until(deadline: float) -> Iterator[float]:
    interval = WAIT_FIRST_INTERVAL
    while (left := deadline - time.monotonic()) > 0:
        yield min(interval, left)
        interval = min(interval * 1.5, WAIT_MAX_INTERVAL)


def _record_id(result_id: Any) -> uuid.UUID:
    from .store import parse_record_id

    parsed = parse_record_id(result_id)
    if parsed is None:
        raise ResultDoesNotExist(f"not a stored job id: {str(result_id)[:80]!r}")
    return parsed


JobOrName: TypeAlias = "GearmanJob[Any, Any] | str | None"


def _checked(record: JobRecord | None, job: JobOrName, result_id: Any) -> StoredResult[Any]:
    if record is None:
        raise ResultDoesNotExist(f"no stored job has the id {result_id!s:.80}")
    name = job if isinstance(job, str) or job is None else job.name
    if name is not None and record.job_name != name:
        raise ResultMismatch(
            f"stored job {record.id.hex} is a {record.job_name!r} job, not {name!r}"
        )
    return StoredResult.from_record(record, None if isinstance(job, str) else job)


def get_result(job: JobOrName, result_id: Any) -> StoredResult[Any]:
    """The stored job ``result_id`` (a UUID or its hex form), as it is now.

    ``job`` (the job or its name) checks that it belongs to that job (``ResultMismatch``
    otherwise); ``None`` accepts any job. ``ResultDoesNotExist`` for an unknown or malformed id.
    """
    from .store import fetch

    record_id = _record_id(result_id)
    return _checked(fetch(record_id), job, result_id)


async def aget_result(job: JobOrName, result_id: Any) -> StoredResult[Any]:
    """``get_result`` for asyncio code."""
    from .store import afetch

    record_id = _record_id(result_id)
    return _checked(await afetch(record_id), job, result_id)


def cancel(result_id: Any) -> bool:
    """Cancel a stored job that has not started: ``True`` if it will never run.

    The record becomes CANCELLED (a worker that receives the job anyway skips it), then the job
    is removed from the gearmand queue that holds it (admin ``cancel job HANDLE``). A job that
    is already RUNNING is not stopped; it gets ``cancel_requested``, which the job can read as
    ``current_job().cancel_requested`` and stop by itself. ``False`` for a running or finished
    job; ``ResultDoesNotExist`` for an unknown id.
    """
    from .protocol import AdminClient, GearmanError
    from .store import cancel as cancel_record

    record_id = _record_id(result_id)
    outcome = cancel_record(record_id)
    if outcome is None:
        raise ResultDoesNotExist(f"no stored job has the id {result_id!s:.80}")
    if outcome.cancelled and outcome.handle and outcome.server:
        try:
            with AdminClient(outcome.server, timeout=5.0) as admin:
                admin.cancel_job(outcome.handle)
        except (GearmanError, OSError, ValueError) as exc:
            # UNKNOWN_JOB: a worker has it already (and will skip it), or it was never queued.
            log.info("job %s: not removed from gearmand %s: %s", record_id, outcome.server, exc)
    return outcome.cancelled


# -- the client: enqueueing a stored job --------------------------------------------------------


def run_stored(
    client: GearmanClient,
    job: GearmanJob[Any, Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    options: SubmitOptions,
) -> Any:
    """Submit a stored job: write its record, then send it (at the commit, inside a
    transaction, or with ``on_commit``: the record is part of the transaction and a worker could
    not see it before). A foreground job gives its value; a background job its ``StoredResult``
    if it was declared with ``store_result=True`` (typed so), else its handle as always ("" until
    it is sent). A deferred call (``run_after``/``countdown``) only writes its record, held for
    ``gearman_scheduler``, and gives its ``StoredResult`` (``store_result=True``) or record id.
    """
    from . import store

    background = options.background
    run_after = deferred_until(options.run_after, options.countdown, timezone.now())
    if run_after is not None and not background:
        raise ConfigurationError(f"job {job.name!r}: a deferred job is dispatched, not submitted")
    if not background and options.on_commit:
        raise ConfigurationError(
            f"job {job.name!r}: on_commit is for dispatch; a foreground submit waits for its result"
        )
    record_id = uuid.uuid4()
    call = client.prepare(job.name, job, args, kwargs, options, record_id=record_id)
    in_transaction = not call.eager and store.in_transaction()  # eager runs see their record
    if not background and in_transaction:
        if job.store_result is None:  # stored by GEARMAN_STORE_RESULTS only: run it unstored
            return client.run_prepared(client.prepare(job.name, job, args, kwargs, options))
        raise ConfigurationError(
            f"job {job.name!r} stores its result: a foreground submit inside a transaction would "
            "wait for a worker that cannot see its record before the commit; submit it outside "
            "transaction.atomic(), or dispatch it (it is then sent at the commit)"
        )
    record = store.insert(
        record_id,
        job_name=job.name,
        call=call.payload,
        queue=job.queue,
        priority=options.priority,
        max_attempts=job.retry_policy.max_attempts if background else 1,
        run_after=None if call.eager else run_after,  # eager mode runs a deferred job at once
    )
    result: StoredResult[Any] = StoredResult.from_record(record, job)
    if run_after is not None and not call.eager:  # held for gearman_scheduler: nothing to send
        if job_enqueued.receivers:
            from .declaration import registry

            job_enqueued.send(sender=registry.registered(job), handle="", result=result)
        return result if job.store_result is True else result.id
    if not background:
        return _send(client, call, result)
    if options.on_commit or in_transaction:
        on_commit(lambda: _send(client, call, result), store.database_alias())
    else:
        _send(client, call, result)
    if job.store_result is True:
        return result
    return result.id if options.deferred else result.handle  # a deferred job: its record id


def _send(client: GearmanClient, call: PreparedCall, result: StoredResult[Any]) -> Any:
    """Send a stored call; keep the handle of a background job (``cancel`` needs it)."""
    from . import store

    record_id = uuid.UUID(result.id)
    background = call.options.background
    if call.eager:
        outcome = call.run_eagerly()
        handle, server = (outcome if background else ""), ""
    else:
        try:
            sent = client.transport.submit(
                call.spec.wire_name, call.payload, **call.transport_arguments()
            )
        except NoServerAvailable as exc:
            store.note_not_sent(record_id, exc)
            raise
        handle = sent.handle.decode("ascii", "replace") if sent.handle else ""
        server = sent.server
        outcome = call.outcome(sent)
        if background:
            store.note_sent(record_id, handle, server)
    if background:
        object.__setattr__(result, "handle", handle)
        object.__setattr__(result, "server", server)
    if job_enqueued.receivers:
        from .declaration import registry

        job_enqueued.send(sender=registry.registered(call.job), handle=handle, result=result)
    return outcome


def on_commit(send: Callable[[], object], alias: str | None) -> None:
    """Run ``send`` when the transaction on ``alias`` (default database) commits, at once
    outside a transaction; never after a rollback."""
    from django.db import DEFAULT_DB_ALIAS, transaction

    transaction.on_commit(send, using=alias or DEFAULT_DB_ALIAS)
