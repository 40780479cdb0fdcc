"""The scheduler: hands deferred and retried jobs to gearmand on time, and starts periodic runs.

Deferred jobs wait in the store, not in gearmand: gearmand 1.1.20's SUBMIT_JOB_EPOCH never wakes a
sleeping worker when the job falls due and starves LOW jobs of the same function
(tests/lifecycle/test_deferred_epoch.py measures both). A waiting job is a ``JobRecord`` with
status READY, ``run_after`` set and ``released_at`` null. Releasing one is:

1. **claim**: ``UPDATE ... SET released_at=now WHERE id=? AND released_at IS NULL`` (and still
   READY). Exactly one scheduler gets 1 row, however many run, on any database.
2. **submit** the stored call envelope as a background job whose unique id is the record id, so
   gearmand coalesces a second submit of the same record while the first is still queued.
3. **record** the Gearman handle and server (``cancel(id)`` needs them); on a failed submit
   **un-claim** (``released_at`` back to null, only if it is still our claim), so a later tick
   tries again; this scheduler passes over that record for ``FAILED_RECORD_PAUSE``, so one that
   gearmand refuses never holds up the records behind it.

Re-release rule: a claim older than ``claim_timeout`` whose record has no handle and is still
READY belongs to a scheduler that died (or lost its database) between claim and handle; it is
claimed again (compare-and-set on the old ``released_at``) and submitted. If the first submit did
reach gearmand after all, the unique id coalesces the two while queued, and the worker's
conditional start (READY -> RUNNING) skips a second delivery: the job never runs twice.

A periodic run is started by inserting ``PeriodicRun(job_name, slot)``, unique per job and slot,
together with the run's READY record (``run_after`` = the slot) in one transaction: the scheduler
whose insert wins owns the slot, and the record is then released like any deferred job (so a
crash between the two steps loses nothing). Which slot is due is decided by
``schedules.due_slot`` (the latest slot, if at most ``catch_up`` late).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Min, Q
from django.utils import timezone

from serializers import SerializerError

from .calls import job_spec
from .conf import get_settings
from .declaration import GearmanJob, registry
from .exceptions import GearmanJobError
from .protocol import Client, GearmanError, JobRequest, JobResult, Priority
from .schedules import Schedule, due_slot

if TYPE_CHECKING:
    from .models import JobRecord

logger = logging.getLogger("django_gearman.scheduler")

DEFAULT_BATCH = 100
DEFAULT_CLAIM_TIMEOUT = timedelta(seconds=60)
DEFAULT_SWEEP_EVERY = timedelta(seconds=30)
FAILED_RECORD_PAUSE = timedelta(seconds=5)
MAX_HELD = 10_000
SUBMIT_TIMEOUT = 10.0
_PRIORITIES = {"high": Priority.HIGH, "normal": Priority.NORMAL, "low": Priority.LOW}

#: Writes the READY record of one periodic run, ``run_after`` = the slot:
#: (job, schedule, slot, now) -> JobRecord (``default_record_factory``).
RecordFactory = Callable[[GearmanJob[Any, Any], Schedule, datetime, datetime], "JobRecord"]


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did: periodic runs this scheduler won, records it handed to gearmand,
    submits that failed (those records were un-claimed), and the next moment it has work."""

    started: tuple[str, ...]
    released: int
    failed: int
    next_due: datetime | None


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """A registered job with a schedule."""

    job: GearmanJob[Any, Any]
    schedule: Schedule


def periodic_jobs(jobs: Iterable[GearmanJob[Any, Any]] | None = None) -> list[PeriodicJob]:
    """The jobs (default: every registered job) that declare ``schedule=``."""
    return [
        PeriodicJob(job, job.schedule)
        for job in (registry if jobs is None else jobs)
        if job.schedule is not None
    ]


def check_periodic_calls(periodic: Iterable[PeriodicJob]) -> list[str]:
    """Problems of periodic jobs whose fixed arguments do not fit their signature (each run's
    call is validated like a client's call): found when a scheduler starts, not at a slot."""
    problems = []
    for entry in periodic:
        try:
            job_spec(entry.job).encode_call(list(entry.schedule.args), dict(entry.schedule.kwargs))
        except (GearmanJobError, SerializerError) as exc:
            problems.append(f"periodic job {entry.job.name}: {type(exc).__name__}: {exc}")
    return problems


class Scheduler:
    """One scheduler process's state: its connection to gearmand and the slots it already
    decided (so a slot costs each scheduler at most one insert attempt).

    Several schedulers may run at once (on one host or many): every decision is a
    compare-and-set in the database, never a lock held across a submit.
    """

    def __init__(
        self,
        transport: Client,
        *,
        periodic: Sequence[PeriodicJob] = (),
        make_record: RecordFactory | None = None,
        batch: int = DEFAULT_BATCH,
        claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
        sweep_every: timedelta | None = DEFAULT_SWEEP_EVERY,
        lost_after: timedelta | None = None,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        self.transport = transport
        self.periodic = tuple(periodic)
        self.make_record = make_record or default_record_factory
        self.batch = batch
        self.claim_timeout = claim_timeout
        self.sweep_every = sweep_every
        self.lost_after = lost_after
        self.clock = clock
        self._decided: dict[str, datetime] = {}
        self._swept_at: datetime | None = None
        # records whose submit just failed, passed over until then: a record gearmand refuses
        # must not hold up the ones behind it
        self._held: dict[uuid.UUID, datetime] = {}

    # -- one tick ----------------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Start due periodic runs, then release due records (at most ``batch`` of them)."""
        now = self.clock()
        started = tuple(self.start_periodic_runs(now))
        released, failed = self.release_due(now)
        self.sweep(now)
        return TickReport(started, released, failed, self.next_due(self.clock()))

    def sweep(self, now: datetime) -> int:
        """Every ``sweep_every``: mark RUNNING records whose worker died as FAILED (``WorkerLost``;
        see ``store.mark_lost`` for workers of other hosts and ``lost_after``)."""
        if self.sweep_every is None or (
            self._swept_at is not None and now - self._swept_at < self.sweep_every
        ):
            return 0
        from . import store

        self._swept_at = now
        return store.mark_lost(lost_after=self.lost_after, now=now)

    def start_periodic_runs(self, now: datetime) -> list[str]:
        """Insert the run of every periodic job whose slot is due; returns ``name@slot`` of the
        runs this scheduler won (a lost insert means another scheduler owns the slot)."""
        won = []
        for periodic in self.periodic:
            name = periodic.job.name
            slot = due_slot(periodic.schedule, now)
            if slot is None or self._decided.get(name) == slot:
                continue
            try:
                if self._start_run(periodic, slot, now):
                    won.append(f"{name}@{slot.isoformat()}")
            except DatabaseError:  # this job's run is tried again next tick; others go on
                logger.exception("periodic job=%s slot=%s: cannot start the run", name, slot)
                continue
            self._decided[name] = slot
        return won

    def _start_run(self, periodic: PeriodicJob, slot: datetime, now: datetime) -> bool:
        """Write the run's record and its ``PeriodicRun`` row in one transaction; False if
        another scheduler's row for this slot exists (then nothing of ours is kept)."""
        from .models import PeriodicRun

        name = periodic.job.name
        try:
            with transaction.atomic():
                record = self.make_record(periodic.job, periodic.schedule, slot, now)
                PeriodicRun.objects.create(job_name=name, slot=slot, created_at=now, record=record)
        except IntegrityError:
            if not PeriodicRun.objects.filter(job_name=name, slot=slot).exists():
                raise  # not the unique slot: a real error of the record
            logger.debug("periodic job=%s slot=%s: another scheduler runs it", name, slot)
            return False
        logger.info("periodic job=%s slot=%s record=%s", name, slot.isoformat(), record.pk)
        return True

    def release_due(self, now: datetime) -> tuple[int, int]:
        """Claim and submit up to ``batch`` due records; returns (released, failed)."""
        claimed = [record for record in self._due_records(now) if self._claim(record, now)]
        if not claimed:
            return 0, 0
        requests = [self._request(record) for record in claimed]
        try:
            results = self.transport.submit_many(requests, timeout=SUBMIT_TIMEOUT)
        except GearmanError as exc:  # no server at all: every claim goes back
            results = [JobResult(None, "error", error=exc)] * len(claimed)
        released = failed = 0
        for record, result in zip(claimed, results, strict=True):
            if result.state == "queued" and result.handle:
                self._record_handle(record, result)
                released += 1
            else:
                self._unclaim(record, result)
                failed += 1
        return released, failed

    def next_due(self, now: datetime) -> datetime | None:
        """The earliest moment with work: the next periodic slot or the earliest waiting record
        (``None``: nothing known; new deferrals are found by the next tick anyway)."""
        from .models import JobRecord, ResultStatus

        moments = [periodic.schedule.next_after(now) for periodic in self.periodic]
        waiting = JobRecord.objects.filter(
            status=ResultStatus.READY, released_at__isnull=True, run_after__isnull=False
        ).aggregate(first=Min("run_after"))["first"]
        if waiting is not None:
            moments.append(waiting)
        return min(moments, default=None)

    # -- the steps ---------------------------------------------------------------------------

    def _due_records(self, now: datetime) -> list[JobRecord]:
        """Due records in order of their time: waiting ones, and stale claims (see module doc)."""
        from .models import JobRecord, ResultStatus

        waiting = Q(released_at__isnull=True)
        stale = Q(released_at__lt=now - self.claim_timeout, handle="")
        self._held = {pk: until for pk, until in self._held.items() if until > now}
        return list(
            JobRecord.objects.filter(waiting | stale)
            .filter(status=ResultStatus.READY, run_after__lte=now)
            .exclude(pk__in=list(self._held))
            .order_by("run_after")
            .only("id", "job_name", "priority", "call", "released_at", "run_after")[: self.batch]
        )

    def _claim(self, record: JobRecord, now: datetime) -> bool:
        """Compare-and-set on ``released_at``; a claim also clears the handle and server of an
        earlier attempt (a retried record), so "no handle" always means "not submitted yet"."""
        from .models import JobRecord, ResultStatus

        rows = JobRecord.objects.filter(
            pk=record.pk, status=ResultStatus.READY, released_at=record.released_at
        ).update(released_at=now, handle="", server="")
        if rows == 1:
            record.released_at = now
        return rows == 1

    def _request(self, record: JobRecord) -> JobRequest:
        return JobRequest(
            get_settings().wire_name(record.job_name),
            bytes(record.call),
            record.pk.hex,
            _PRIORITIES.get(record.priority, Priority.NORMAL),
            True,
        )

    def _record_handle(self, record: JobRecord, result: JobResult) -> None:
        from .models import JobRecord

        handle = (result.handle or b"").decode("ascii", "replace")
        JobRecord.objects.filter(pk=record.pk, released_at=record.released_at).update(
            handle=handle, server=result.server
        )
        logger.info(
            "released job=%s id=%s handle=%s due=%s",
            record.job_name,
            record.pk.hex,
            handle,
            record.run_after.isoformat() if record.run_after else "now",
        )

    def _unclaim(self, record: JobRecord, result: JobResult) -> None:
        from .models import JobRecord

        JobRecord.objects.filter(pk=record.pk, released_at=record.released_at, handle="").update(
            released_at=None
        )
        if len(self._held) < MAX_HELD and record.released_at is not None:
            self._held[record.pk] = record.released_at + FAILED_RECORD_PAUSE
        reason = type(result.error).__name__ if result.error is not None else result.state
        logger.warning(
            "release failed job=%s id=%s: %s (it stays due)", record.job_name, record.pk.hex, reason
        )


def default_record_factory(
    job: GearmanJob[Any, Any], schedule: Schedule, slot: datetime, now: datetime
) -> JobRecord:
    """The READY record of one periodic run, held for release (``run_after`` = the slot): the
    job called with the schedule's fixed arguments, validated as any client call is, its record
    id in the envelope so that the worker keeps the record."""
    from . import store

    record_id = uuid.uuid4()
    call = job_spec(job).encode_call(
        list(schedule.args), dict(schedule.kwargs), {"id": record_id.hex}
    )
    return store.insert(
        record_id,
        job_name=job.name,
        call=call,
        queue=job.queue,
        max_attempts=job.retry_policy.max_attempts,
        run_after=slot,
    )
