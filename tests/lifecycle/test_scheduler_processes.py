"""``manage.py gearman_scheduler`` with real workers, real gearmand and a shared database, every
one a separate process: waiting records are released on time, exactly once, and survive restarts.
"""

from __future__ import annotations

import signal
import time

from tests.lifecycle.scheduling.support import Deployment, deployment, postgres, wait_for

__all__ = ["deployment", "postgres"]  # fixtures

MAKE_RECORDS = """
import json, uuid
from datetime import timedelta
from django.utils import timezone
from django_gearman.calls import job_spec
from django_gearman.models import JobRecord
from tests.lifecycle.scheduling.scheduler_jobs.gearman_jobs import mark
now = timezone.now()
due = now + timedelta(seconds={delay})
records = [
    JobRecord(id=uuid.uuid4(), job_name=mark.name, run_after=due, enqueued_at=now,
              call=job_spec(mark).encode_call([tag], {{}}))
    for tag in {tags!r}
]
JobRecord.objects.bulk_create(records)
print(json.dumps(due.timestamp()))
"""

RECORD_STATES = """
import json
from django_gearman.models import JobRecord
print(json.dumps(sorted(
    [r.released_at is not None, r.handle != "", r.server]
    for r in JobRecord.objects.all()
)))
"""


def defer_records(deployment: Deployment, tags: list[str], delay: float) -> float:
    """Write waiting records for ``mark(tag)`` due in ``delay`` s (as the store does); their
    unix due time."""
    due: float = deployment.python(MAKE_RECORDS.format(delay=delay, tags=tags))
    return due


def test_a_waiting_record_runs_within_a_second_of_its_time_and_not_before(
    deployment: Deployment,
) -> None:
    deployment.start_worker()
    deployment.start_scheduler()
    due = defer_records(deployment, ["on-time"], delay=3.0)
    wait_for(lambda: len(deployment.runs()) == 1, 30, "the deferred job to run")
    (run,) = deployment.runs()
    assert run.tag == "on-time"
    assert due <= run.at < due + 1.0, f"ran {run.at - due:+.3f} s from its time"


def test_two_schedulers_release_each_record_exactly_once(deployment: Deployment) -> None:
    tags = [f"r{number}" for number in range(40)]
    deployment.start_worker("-w", "2")
    first = deployment.start_scheduler("--interval", "0.1", "--batch", "7")
    second = deployment.start_scheduler("--interval", "0.1", "--batch", "7")
    defer_records(deployment, tags, delay=2.0)
    wait_for(lambda: len(deployment.runs()) >= len(tags), 60, "every deferred job to run")
    time.sleep(1.0)  # a duplicate release would run by now
    assert sorted(run.tag for run in deployment.runs()) == sorted(tags)
    released = first.output().count("released job=") + second.output().count("released job=")
    assert released == len(tags)
    states = deployment.python(RECORD_STATES)
    assert all(state[:2] == [True, True] for state in states), states  # claimed, with a handle
    assert {state[2] for state in states} == {deployment.gearmand.address}


def test_a_record_survives_a_restart_of_every_process(deployment: Deployment) -> None:
    worker = deployment.start_worker()
    scheduler = deployment.start_scheduler()
    due = defer_records(deployment, ["after-restart"], delay=12.0)
    assert scheduler.stop() == 0
    assert worker.stop() == 0
    deployment.gearmand.restart()
    deployment.start_worker()
    deployment.start_scheduler()
    assert time.time() < due - 1, "the restart took too long for this test to mean anything"
    wait_for(lambda: len(deployment.runs()) == 1, 30, "the deferred job to run")
    (run,) = deployment.runs()
    assert run.tag == "after-restart"
    assert due <= run.at < due + 1.0, f"ran {run.at - due:+.3f} s from its time"


def test_while_gearmand_is_down_records_stay_due_and_run_when_it_is_back(
    deployment: Deployment,
) -> None:
    scheduler = deployment.start_scheduler("--interval", "0.1")
    deployment.gearmand.stop()
    defer_records(deployment, ["retried"], delay=0.0)
    wait_for(lambda: "release failed" in scheduler.output(), 30, "a failed release")
    deployment.gearmand.start()
    deployment.start_worker()
    wait_for(lambda: len(deployment.runs()) == 1, 30, "the job to run once gearmand is back")
    assert [run.tag for run in deployment.runs()] == ["retried"]


def test_sigterm_stops_the_scheduler_cleanly_and_once_runs_one_tick(
    deployment: Deployment,
) -> None:
    scheduler = deployment.start_scheduler()
    assert scheduler.stop(signal.SIGTERM) == 0
    deployment.start_worker()
    defer_records(deployment, ["once"], delay=0.0)
    deployment.manage("gearman_scheduler", "--once", "--servers", deployment.gearmand.address)
    wait_for(lambda: len(deployment.runs()) == 1, 30, "the job released by --once")
