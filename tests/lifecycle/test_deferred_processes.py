"""Deferred jobs end to end: a client process defers with ``using(run_after=...)``, and
``manage.py gearman_scheduler``, workers and gearmand (each a process of its own, sharing one
database) run them on time, exactly once, also across a restart of every process."""

from __future__ import annotations

import signal
import time

from tests.lifecycle.scheduling.support import Deployment, deployment, wait_for

__all__ = ["deployment"]  # the fixture

DEFER = """
import json
from datetime import timedelta
from django.utils import timezone
from tests.lifecycle.scheduling.scheduler_jobs.gearman_jobs import mark
due = timezone.now() + timedelta(seconds={delay})
ids = [mark.using(run_after=due).dispatch(tag) for tag in {tags!r}]
print(json.dumps([due.timestamp(), ids]))
"""

STATUSES = """
import json
from tests.lifecycle.scheduling.scheduler_jobs.gearman_jobs import mark
print(json.dumps([mark.get_result(id).status for id in {ids!r}]))
"""

RECORD_STATES = """
import json
from django_gearman.models import JobRecord
print(json.dumps(sorted(
    [r.released_at is not None, r.handle != "", r.server]
    for r in JobRecord.objects.all()
)))
"""


def defer(deployment: Deployment, tags: list[str], delay: float) -> tuple[float, list[str]]:
    """``mark.using(run_after=now + delay).dispatch(tag)`` in a client process of its own: the
    unix time the jobs are due, and their record ids."""
    due, ids = deployment.python(DEFER.format(delay=delay, tags=tags))
    return float(due), list(ids)


def statuses(deployment: Deployment, ids: list[str]) -> list[str]:
    """The jobs' statuses, read by id in yet another process."""
    found: list[str] = deployment.python(STATUSES.format(ids=ids))
    return found


def test_a_waiting_record_runs_within_a_second_of_its_time_and_not_before(
    deployment: Deployment,
) -> None:
    deployment.start_worker()
    deployment.start_scheduler()
    due, ids = defer(deployment, ["on-time"], delay=3.0)
    assert statuses(deployment, ids) == ["READY"]
    wait_for(lambda: len(deployment.runs()) == 1, 30, "the deferred job to run")
    (run,) = deployment.runs()
    assert run.tag == "on-time"
    assert due <= run.at < due + 1.0, f"ran {run.at - due:+.3f} s from its time"
    wait_for(lambda: statuses(deployment, ids) == ["SUCCESSFUL"], 30, "the record to finish")


def test_two_schedulers_release_each_record_exactly_once(deployment: Deployment) -> None:
    tags = [f"r{number}" for number in range(40)]
    deployment.start_worker("-w", "2")
    first = deployment.start_scheduler("--interval", "0.1", "--batch", "7")
    second = deployment.start_scheduler("--interval", "0.1", "--batch", "7")
    _, ids = defer(deployment, tags, delay=2.0)
    wait_for(lambda: len(deployment.runs()) >= len(tags), 60, "every deferred job to run")
    time.sleep(1.0)  # a duplicate release would run by now
    assert sorted(run.tag for run in deployment.runs()) == sorted(tags)
    released = first.output().count("released job=") + second.output().count("released job=")
    assert released == len(tags)
    states = deployment.python(RECORD_STATES)
    assert all(state[:2] == [True, True] for state in states), states  # claimed, with a handle
    assert {state[2] for state in states} == {deployment.gearmand.address}
    wait_for(lambda: set(statuses(deployment, ids)) == {"SUCCESSFUL"}, 30, "every record to end")


def test_a_record_survives_a_restart_of_every_process(deployment: Deployment) -> None:
    worker = deployment.start_worker()
    scheduler = deployment.start_scheduler()
    due, ids = defer(deployment, ["after-restart"], delay=12.0)
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
    wait_for(lambda: statuses(deployment, ids) == ["SUCCESSFUL"], 30, "the record to finish")


def test_while_gearmand_is_down_records_stay_due_and_run_when_it_is_back(
    deployment: Deployment,
) -> None:
    scheduler = deployment.start_scheduler("--interval", "0.1")
    deployment.gearmand.stop()
    defer(deployment, ["retried"], delay=0.0)
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
    defer(deployment, ["once"], delay=0.0)
    deployment.manage("gearman_scheduler", "--once", "--servers", deployment.gearmand.address)
    wait_for(lambda: len(deployment.runs()) == 1, 30, "the job released by --once")
