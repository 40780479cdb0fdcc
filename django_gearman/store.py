"""Every read and write of a ``JobRecord``, each one a single (usually conditional) query.

The writes every stored job makes (insert, handle, start, finish) and the read of a record by
id are plain SQL statements built once (``record_sql``): the ORM's per-call query building
cost up to five times the statement.

Per stored job: one INSERT when the client enqueues it (before anything is sent), one UPDATE
with the handle once gearmand accepted a background job (``cancel`` needs it), one conditional
UPDATE when a worker starts it (``READY -> RUNNING``; 0 rows means cancelled, finished or a
duplicate delivery, and the job is skipped) and one when it finishes. Failures read the record
once more to decide a retry. Compare-and-set filters (on status, worker, attempts) make every
transition safe against concurrent workers, schedulers and sweeps without locks.

Importing this module imports the models: only code paths of stored jobs import it.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import socket
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import router, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import record_sql
from .models import JobRecord, ResultStatus
from .protocol import AdminClient, GearmanError
from .retries import RetryPolicy

log = logging.getLogger("django_gearman.store")

WORKER_LOST = "django_gearman.WorkerLost"  # error type of an attempt whose worker died
NOT_SENT = "django_gearman.NotSent"  # error type of a job gearmand never accepted
MAX_MESSAGE = 2_000
MAX_TRACEBACK = 20_000
MAX_ATTEMPT_ERRORS = 50  # attempt_errors keeps the first and the latest ones beyond this

_HOST = socket.gethostname()


def worker_name() -> str:
    """``host:pid`` of this process, as written to ``JobRecord.worker``."""
    return f"{_HOST}:{os.getpid()}"


def parse_record_id(value: Any) -> uuid.UUID | None:
    """A record id from a UUID, its 32-hex form or its canonical form; ``None`` if malformed."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and 32 <= len(value) <= 36:
        with contextlib.suppress(ValueError):
            return uuid.UUID(value)
    return None


def database_alias() -> str:
    """The database the records are written to (Django's routers decide)."""
    return router.db_for_write(JobRecord) or "default"


def in_transaction() -> bool:
    """True inside ``transaction.atomic()`` on the records' database: a record written now is
    invisible to workers until the commit."""
    return transaction.get_connection(database_alias()).in_atomic_block


# -- errors as stored ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An exception as stored: class path (``builtins.ValueError``), message, traceback."""

    type: str
    message: str
    traceback: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        kind = type(exc)
        try:
            message = str(exc)
        except Exception:
            message = f"<{kind.__name__}: unprintable message>"
        return cls(
            f"{kind.__module__}.{kind.__qualname__}",
            _tail(message, MAX_MESSAGE),
            _tail("".join(traceback.format_exception(exc)), MAX_TRACEBACK),
        )

    def as_attempt(self, worker: str) -> dict[str, str]:
        """The entry kept in ``attempt_errors`` (no traceback: the last error keeps its own)."""
        return {"type": self.type, "message": self.message, "worker": worker}


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def _appended(errors: Sequence[dict[str, str]], entry: dict[str, str]) -> list[dict[str, str]]:
    merged = [*errors, entry]
    if len(merged) > MAX_ATTEMPT_ERRORS:
        merged = merged[:1] + merged[-(MAX_ATTEMPT_ERRORS - 1) :]
    return merged


# -- the client: enqueue ------------------------------------------------------------------------


def insert(
    record_id: uuid.UUID,
    *,
    job_name: str,
    call: bytes,
    queue: str | None = None,
    priority: str = "normal",
    max_attempts: int = 1,
    run_after: datetime | None = None,
    task_priority: int | None = None,
    backend: str = "",
    retry_of: uuid.UUID | None = None,
) -> JobRecord:
    """Write the record of a job about to be sent (or, with ``run_after``, held for the
    scheduler: ``released_at`` stays null until it hands the job to gearmand)."""
    now = timezone.now()
    record = JobRecord(
        id=record_id,
        job_name=job_name,
        queue=queue or "",
        status=ResultStatus.READY,
        priority=priority,
        task_priority=task_priority,
        run_after=run_after,
        released_at=now if run_after is None else None,
        enqueued_at=now,
        max_attempts=max_attempts,
        call=call,
        backend=backend,
        retry_of_id=retry_of,
    )
    record_sql.insert(database_alias(), record)
    return record


def note_sent(record_id: uuid.UUID, handle: str, server: str) -> None:
    """Gearman accepted the job: keep its handle and server (``cancel`` removes it there)."""
    alias = database_alias()
    record_sql.note_sent(alias).run(alias, (handle, server, record_id))


def note_not_sent(record_id: uuid.UUID, exc: BaseException) -> None:
    """The job never reached gearmand: FAILED, unless a worker has it after all."""
    error = ErrorInfo.from_exception(exc)
    JobRecord.objects.filter(pk=record_id, status=ResultStatus.READY, attempts=0).update(
        status=ResultStatus.FAILED,
        finished_at=timezone.now(),
        error_type=NOT_SENT,
        error_message=f"{error.type}: {error.message}",
    )


# -- the worker: start and finish ---------------------------------------------------------------


class Start(enum.Enum):
    """What the worker does with a delivered stored job."""

    RUN = "run"  # the record is RUNNING for this worker now
    SKIP = "skip"  # cancelled, finished, held for later, or running elsewhere: do not run
    UNRECORDED = "unrecorded"  # no such record (other database, deleted): run, record nothing


def start(record_id: uuid.UUID, handle: str, worker: str) -> Start:
    """``READY -> RUNNING`` for this worker, if the job is released and not cancelled.

    A job gearmand hands out again after its worker's connection dropped (same handle) takes
    the record over when that worker is known dead, or lives on another host; the lost attempt
    is recorded as a ``WorkerLost`` error.
    """
    now = timezone.now()
    alias = database_alias()
    values = (ResultStatus.RUNNING.value, now, worker, handle, record_id, ResultStatus.READY.value)
    started = record_sql.start(alias).run(alias, values)
    if started:
        return Start.RUN
    return _take_over(record_id, handle, worker, now)


def _running(worker: str, now: datetime) -> dict[str, Any]:
    """The fields of a record whose new attempt starts now in ``worker``."""
    return {
        "status": ResultStatus.RUNNING,
        "started_at": now,
        "finished_at": None,
        "worker": worker,
        "attempts": F("attempts") + 1,
    }


_TAKE_OVER_FIELDS = (
    "status",
    "worker",
    "handle",
    "attempts",
    "attempt_errors",
    "error_type",
    "started_at",
)


def _take_over(record_id: uuid.UUID, handle: str, worker: str, now: datetime) -> Start:
    for _ in range(3):  # each round loses only to a concurrent transition; 3 is plenty
        row = JobRecord.objects.filter(pk=record_id).values(*_TAKE_OVER_FIELDS).first()
        if row is None:
            return Start.UNRECORDED
        if not _lost(row, handle, worker):
            return Start.SKIP
        lost = {
            "type": WORKER_LOST,
            "message": f"worker {row['worker']} died during the job",
            "worker": row["worker"],
        }
        taken = JobRecord.objects.filter(
            pk=record_id,
            status=row["status"],
            worker=row["worker"],
            attempts=row["attempts"],
        ).update(
            **_running(worker, now),
            attempt_errors=_appended(row["attempt_errors"], lost),
            error_type="",
            error_message="",
            traceback="",
        )
        if taken:
            log.warning("job record %s: taking over from lost worker %s", record_id, row["worker"])
            return Start.RUN
    return Start.SKIP


def _lost(row: dict[str, Any], handle: str, worker: str) -> bool:
    """Whether a delivery of ``handle`` to ``worker`` may take the record over: it was marked
    lost, or it is RUNNING in a worker process of this host that is gone, or in a worker of
    another host (not checkable here) whose job gearmand hands out again (the same handle:
    gearmand does that only when the worker's connection is gone)."""
    previous = row["worker"]
    if previous == worker:
        return False
    if row["status"] == ResultStatus.FAILED:
        return bool(row["error_type"] == WORKER_LOST)
    if row["status"] != ResultStatus.RUNNING:
        return False
    if _is_local(previous):
        return not known_alive(previous, row["started_at"])
    return bool(row["handle"] == handle)


def _is_local(worker: str) -> bool:
    return worker.rpartition(":")[0] == _HOST


def _mine(record_id: uuid.UUID, worker: str) -> Any:
    """The record while this worker's attempt is current (also if a sweep wrongly called the
    worker lost: its own result is the truth)."""
    return JobRecord.objects.filter(
        Q(status=ResultStatus.RUNNING) | Q(status=ResultStatus.FAILED, error_type=WORKER_LOST),
        pk=record_id,
        worker=worker,
    )


def finish_successful(record_id: uuid.UUID, worker: str, result: bytes) -> bool:
    """The attempt succeeded; ``False`` if the record moved on (another worker took it over)."""
    alias = database_alias()
    values = (
        ResultStatus.SUCCESSFUL.value,
        timezone.now(),
        result,
        record_id,
        worker,
        ResultStatus.RUNNING.value,
        ResultStatus.FAILED.value,
        WORKER_LOST,
    )
    return bool(record_sql.finish_successful(alias).run(alias, values))


def finish_failed(
    record_id: uuid.UUID,
    worker: str,
    exc: BaseException,
    policy: RetryPolicy | None,
) -> ResultStatus | None:
    """The attempt failed with ``exc``: schedule a retry (READY, ``run_after``, held for the
    scheduler) if ``policy`` allows one, else FAILED. Returns the new status, or ``None`` if
    the record moved on. ``policy=None``: never retried (a refused payload); nor is a job
    someone asked to cancel."""
    mine = _mine(record_id, worker)
    row = mine.values("attempts", "max_attempts", "attempt_errors", "cancel_requested").first()
    if row is None:
        return None
    now = timezone.now()
    error = ErrorInfo.from_exception(exc)
    delay = None
    if policy is not None and not row["cancel_requested"]:  # a cancelled job is not retried
        delay = policy.delay_after(exc, row["attempts"], row["max_attempts"], now)
    fields: dict[str, Any] = {
        "error_type": error.type,
        "error_message": error.message,
        "traceback": error.traceback,
    }
    if delay is None:
        status = ResultStatus.FAILED
        fields["finished_at"] = now
    else:
        status = ResultStatus.READY
        fields["run_after"] = now + delay
        fields["released_at"] = None
        fields["attempt_errors"] = _appended(row["attempt_errors"], error.as_attempt(worker))
    updated = mine.filter(attempts=row["attempts"]).update(status=status, **fields)
    return status if updated else None


def cancel_requested(record_id: uuid.UUID) -> bool:
    """Whether someone asked the running job to stop (one indexed primary-key read)."""
    return JobRecord.objects.filter(pk=record_id, cancel_requested=True).exists()


# -- cancelling ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cancellation:
    """The outcome of ``cancel``: ``cancelled`` if the job will never run; where it is queued."""

    cancelled: bool
    status: str
    handle: str
    server: str


def cancel(record_id: uuid.UUID) -> Cancellation | None:
    """``READY -> CANCELLED`` (a worker receiving it anyway skips it); a RUNNING job only gets
    ``cancel_requested``. ``None``: no such record."""
    cancelled = JobRecord.objects.filter(pk=record_id, status=ResultStatus.READY).update(
        status=ResultStatus.CANCELLED, finished_at=timezone.now(), cancel_requested=True
    )
    if not cancelled:
        JobRecord.objects.filter(pk=record_id, status=ResultStatus.RUNNING).update(
            cancel_requested=True
        )
    row = JobRecord.objects.filter(pk=record_id).values("status", "handle", "server").first()
    if row is None:
        return None
    return Cancellation(bool(cancelled), row["status"], row["handle"], row["server"])


# -- dead workers -------------------------------------------------------------------------------


def known_alive(worker: str, since: datetime | None) -> bool:
    """Whether ``worker`` ("host:pid") is a live process on this host that already existed at
    ``since`` (a pid reused by a newer process does not count). A worker on another host is
    never known alive here."""
    host, _, pid_text = worker.rpartition(":")
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    state = _process_state(pid)
    if state is None:
        return True  # cannot tell more without /proc; trust the pid
    zombie, started = state
    return not zombie and (since is None or started <= since.timestamp() + 1.0)


def _process_state(pid: int) -> tuple[bool, float] | None:
    """(is a zombie, start time in Unix seconds) of ``pid``, or ``None`` if /proc cannot say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, IndexError, ValueError, StopIteration):
        return None
    return fields[0] == "Z", boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def mark_lost(
    *,
    servers: Sequence[str] = (),
    lost_after: timedelta | None = None,
    now: datetime | None = None,
) -> int:
    """Mark RUNNING records whose worker is gone, and whose job gearmand no longer holds, as
    FAILED (error type ``WorkerLost``). Returns how many records were marked.

    A worker on this host is gone when its process is. A worker on another host cannot be
    checked from here: with ``lost_after``, it is gone when its record has been RUNNING for
    longer than that (pick more than your longest job). A job that gearmand still holds (its
    handle is in ``show jobs`` of the record's server, or of one of ``servers`` for a record
    without one) is left alone: gearmand hands it out again and its next worker takes the
    record over. A worker that finishes after all still writes its result over the mark.
    """
    now = now or timezone.now()
    candidates: list[dict[str, Any]] = []
    running = JobRecord.objects.filter(status=ResultStatus.RUNNING)
    fields = ("id", "worker", "started_at", "handle", "server")
    for row in running.filter(worker__startswith=f"{_HOST}:").values(*fields):
        if not known_alive(row["worker"], row["started_at"]):
            candidates.append({**row, "why": f"worker {row['worker']} died during the job"})
    if lost_after is not None:
        stale = running.filter(started_at__lt=now - lost_after).exclude(
            worker__startswith=f"{_HOST}:"
        )
        why = f"no news from the worker for more than {lost_after}"
        candidates += [{**row, "why": why} for row in stale.values(*fields)]
    held = _HeldJobs(servers)
    marked = 0
    for row in candidates:
        if held.holds(row["handle"], row["server"]):
            continue
        marked += _mark_lost(
            JobRecord.objects.filter(pk=row["id"], worker=row["worker"]), row["why"], now
        )
    return marked


class _HeldJobs:
    """The handles each gearmand holds (queued or running; admin ``show jobs``), asked once per
    server. An unreachable server holds nothing (its in-memory jobs are gone with it)."""

    def __init__(self, servers: Sequence[str]) -> None:
        self.servers = tuple(servers)
        self.known: dict[str, frozenset[str]] = {}

    def holds(self, handle: str, server: str) -> bool:
        if not handle:
            return False
        return any(handle in self._handles(name) for name in ([server] if server else self.servers))

    def _handles(self, server: str) -> frozenset[str]:
        found = self.known.get(server)
        if found is None:
            try:
                with AdminClient(server, timeout=5.0) as admin:
                    found = frozenset(job.handle for job in admin.show_jobs() if not job.ignore_job)
            except (GearmanError, OSError, ValueError) as exc:
                log.warning(
                    "gearmand %s: cannot list its jobs (%s); taking it as empty", server, exc
                )
                found = frozenset()
            self.known[server] = found
        return found


def _mark_lost(records: Any, message: str, now: datetime) -> int:
    count: int = records.filter(status=ResultStatus.RUNNING).update(
        status=ResultStatus.FAILED,
        finished_at=now,
        error_type=WORKER_LOST,
        error_message=message,
        traceback="",
    )
    if count:
        log.warning("%d job record(s) marked lost: %s", count, message)
    return count


# -- reads --------------------------------------------------------------------------------------


def fetch(record_id: uuid.UUID) -> JobRecord | None:
    return record_sql.fetch(database_alias(), record_id)


async def afetch(record_id: uuid.UUID) -> JobRecord | None:
    return await JobRecord.objects.filter(pk=record_id).afirst()
