"""The scheduler's rules, one tick at a time against a real gearmand and the test database: which
records are released, that a claim is a compare-and-set, un-claiming on a failed submit, the
re-release of stale claims, and periodic slots under the catch-up rule (with a fixed clock)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from django_gearman import store
from django_gearman.calls import job_spec
from django_gearman.models import JobRecord, PeriodicRun, ResultStatus
from django_gearman.protocol import AdminClient, Client
from django_gearman.scheduler import PeriodicJob, Scheduler, default_record_factory
from django_gearman.schedules import Cron
from tests.lifecycle.scheduling.scheduler_jobs.gearman_jobs import mark
from tests.support.gearmand import Gearmand, free_port

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 14, 10, 7, tzinfo=UTC)
LONG_AGO = NOW - timedelta(minutes=2)


@pytest.fixture
def transport(gearmand: Gearmand) -> Iterator[Client]:
    client = Client([gearmand.address])
    yield client
    client.close()


def scheduler(transport: Client, **options: Any) -> Scheduler:
    return Scheduler(transport, clock=lambda: NOW, **options)


def record(tag: str, **fields: Any) -> JobRecord:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "job_name": mark.name,
        "run_after": NOW - timedelta(seconds=1),
        "enqueued_at": NOW - timedelta(hours=1),
        "call": job_spec(mark).encode_call([tag], {}),
        **fields,
    }
    return JobRecord.objects.create(**values)


def queued(gearmand: Gearmand) -> int:
    with AdminClient(gearmand.address) as admin:
        return sum(status.queued for status in admin.status() if status.function == mark.name)


def test_only_due_waiting_records_and_stale_claims_are_released(
    gearmand: Gearmand, transport: Client
) -> None:
    due = record("due")
    stale = record("stale", released_at=LONG_AGO)
    record("submitted", released_at=LONG_AGO, handle="H:host:1", server="127.0.0.1:1")
    record("fresh claim", released_at=NOW - timedelta(seconds=10))
    record("future", run_after=NOW + timedelta(seconds=1))
    record("running", status=ResultStatus.RUNNING)
    record("cancelled", status=ResultStatus.CANCELLED)
    record("sent directly by the client", run_after=None, released_at=LONG_AGO)
    report = scheduler(transport).tick()
    assert (report.released, report.failed) == (2, 0)
    assert queued(gearmand) == 2
    for released in (due, stale):
        released.refresh_from_db()
        assert released.released_at == NOW
        assert released.handle.startswith("H:")
        assert released.server == gearmand.address
    assert report.next_due == NOW + timedelta(seconds=1)  # the future record


def test_a_claim_lost_to_another_scheduler_is_not_submitted(
    gearmand: Gearmand, transport: Client
) -> None:
    records = [record(f"r{number}") for number in range(5)]
    slow, fast = scheduler(transport), scheduler(transport)
    seen_by_slow = slow._due_records(NOW)
    assert {found.pk for found in seen_by_slow} == {made.pk for made in records}
    assert fast.release_due(NOW) == (5, 0)
    assert [slow._claim(found, NOW) for found in seen_by_slow] == [False] * 5
    assert slow.release_due(NOW) == (0, 0)
    assert queued(gearmand) == 5


def test_a_second_submit_of_one_record_is_coalesced_by_gearmand(
    gearmand: Gearmand, transport: Client
) -> None:
    """The re-release rule relies on this: the record id is the job's unique id."""
    made = record("twice")
    assert scheduler(transport).release_due(NOW) == (1, 0)
    JobRecord.objects.filter(pk=made.pk).update(released_at=LONG_AGO, handle="")
    assert scheduler(transport).release_due(NOW) == (1, 0)
    assert queued(gearmand) == 1


def test_a_failed_submit_un_claims_the_records_so_they_stay_due() -> None:
    made = [record("a"), record("b")]
    dead = Client([f"127.0.0.1:{free_port()}"], connect_timeout=1.0)
    try:
        assert scheduler(dead).release_due(NOW) == (0, 2)
    finally:
        dead.close()
    for waiting in made:
        waiting.refresh_from_db()
        assert waiting.released_at is None
        assert waiting.handle == ""


def test_a_record_whose_submit_failed_does_not_hold_up_the_ones_behind_it(
    gearmand: Gearmand, transport: Client
) -> None:
    first, second = record("refused"), record("behind", run_after=NOW)
    releasing = scheduler(transport, batch=1)
    dead = Client([f"127.0.0.1:{free_port()}"], connect_timeout=1.0)
    releasing.transport = dead
    try:
        assert releasing.release_due(NOW) == (0, 1)  # the oldest record, and it failed
    finally:
        dead.close()
    releasing.transport = transport
    assert releasing.release_due(NOW) == (1, 0)  # the next one, though batch is 1
    second.refresh_from_db()
    assert second.handle
    assert releasing.release_due(NOW + timedelta(seconds=5)) == (1, 0)  # its pause is over
    first.refresh_from_db()
    assert first.handle


def test_a_claim_clears_the_handle_of_an_earlier_attempt(
    gearmand: Gearmand, transport: Client
) -> None:
    """A retried record comes back READY with its last attempt's handle; after its new claim,
    "no handle" must again mean "not submitted yet"."""
    retried = record("retried", handle="H:old:7", server="127.0.0.1:9", attempts=1)
    assert scheduler(transport).release_due(NOW) == (1, 0)
    retried.refresh_from_db()
    assert retried.handle not in ("", "H:old:7")
    assert retried.server == gearmand.address


def hourly_mark(catch_up: timedelta) -> PeriodicJob:
    return PeriodicJob(mark, Cron("0 * * * *", catch_up=catch_up, args=("hourly",)))


def runs() -> list[datetime]:
    return list(PeriodicRun.objects.order_by("slot").values_list("slot", flat=True))


def test_each_slot_runs_once_even_with_two_schedulers_and_missed_slots_follow_the_rule(
    gearmand: Gearmand, transport: Client
) -> None:
    clock = [datetime(2026, 3, 14, 10, 7, tzinfo=UTC)]
    periodic = [hourly_mark(timedelta(minutes=10))]

    def make() -> Scheduler:
        return Scheduler(
            transport,
            periodic=periodic,
            make_record=default_record_factory,
            clock=lambda: clock[0],
        )

    first, second = make(), make()
    assert len(first.tick().started) == 1  # 10:00 is 7 minutes late: within the window
    assert second.tick().started == ()  # the same slot: the other scheduler owns it
    clock[0] = datetime(2026, 3, 14, 10, 59, tzinfo=UTC)
    assert first.tick().started == second.tick().started == ()  # no new slot
    clock[0] = datetime(2026, 3, 14, 13, 30, tzinfo=UTC)  # both down since 10:59
    assert first.tick().started == second.tick().started == ()  # 13:00 is 30 min late: skipped
    clock[0] = datetime(2026, 3, 14, 14, 0, 1, tzinfo=UTC)
    assert second.tick().started == (
        "tests.lifecycle.scheduling.scheduler_jobs.mark@2026-03-14T14:00:00+00:00",
    )
    assert first.tick().started == ()
    assert runs() == [datetime(2026, 3, 14, hour, tzinfo=UTC) for hour in (10, 14)]
    # each run is a record, released to gearmand like any deferred job, with the fixed args
    assert queued(gearmand) == 2
    periodic_records = JobRecord.objects.filter(periodic_runs__isnull=False)
    assert sorted(r.run_after for r in periodic_records) == runs()  # type: ignore[type-var]
    assert all(r.handle for r in periodic_records)
    for made in periodic_records:  # the fixed args, and the record id for the worker
        assert bytes(made.call) == job_spec(mark).encode_call(["hourly"], {}, {"id": made.pk.hex})


def test_a_run_whose_record_cannot_be_written_leaves_no_trace_and_is_tried_again(
    transport: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """The run row and its record are written together: a record that cannot be written
    leaves no PeriodicRun behind, so the slot is not lost to a half-done insert."""
    broken = [True]

    def factory(job: Any, schedule: Any, slot: datetime, now: datetime) -> JobRecord:
        if broken[0]:  # task_priority outside -100..100: the check constraint refuses it
            return store.insert(
                uuid.uuid4(), job_name=job.name, call=b"", run_after=slot, task_priority=1000
            )
        return default_record_factory(job, schedule, slot, now)

    flaky = Scheduler(
        transport,
        periodic=[hourly_mark(timedelta(minutes=10))],
        make_record=factory,
        clock=lambda: NOW,
    )
    assert flaky.start_periodic_runs(NOW) == []
    assert "cannot start the run" in caplog.text
    assert runs() == []
    assert not JobRecord.objects.exists()
    broken[0] = False
    assert len(flaky.start_periodic_runs(NOW)) == 1
    assert runs() == [datetime(2026, 3, 14, 10, tzinfo=UTC)]


def test_a_tick_sweeps_records_whose_worker_died_at_most_every_sweep_interval(
    transport: Client,
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(30)
    host = store.worker_name().rpartition(":")[0]
    lost = record("lost", status=ResultStatus.RUNNING, worker=f"{host}:{gone.pid}", started_at=NOW)
    alive = record(
        "alive", status=ResultStatus.RUNNING, worker=store.worker_name(), started_at=timezone.now()
    )
    clock = [NOW]
    sweeping = Scheduler(transport, sweep_every=timedelta(seconds=30), clock=lambda: clock[0])
    assert sweeping.sweep(NOW) == 1
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert (lost.status, lost.error_type) == (ResultStatus.FAILED, store.WORKER_LOST)
    assert alive.status == ResultStatus.RUNNING
    JobRecord.objects.filter(pk=lost.pk).update(status=ResultStatus.RUNNING)
    assert sweeping.sweep(NOW + timedelta(seconds=29)) == 0  # not yet time for the next sweep
    clock[0] = NOW + timedelta(seconds=30)
    sweeping.tick()
    lost.refresh_from_db()
    assert lost.status == ResultStatus.FAILED
