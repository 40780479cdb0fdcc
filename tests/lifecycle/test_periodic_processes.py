"""Periodic jobs with real processes: two ``gearman_scheduler`` processes, a worker, gearmand and
a shared database (SQLite and PostgreSQL). Every slot runs exactly once."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from tests.lifecycle.scheduling.support import Deployment, deployment, wait_for

__all__ = ["deployment"]  # the fixture

PERIODIC_RUNS = """
import json
from django_gearman.models import PeriodicRun
print(json.dumps([
    [run.slot.isoformat(), str(run.record.status)]
    for run in PeriodicRun.objects.select_related("record").order_by("slot")
]))
"""


def test_a_periodic_job_runs_exactly_once_per_slot_with_two_schedulers(
    deployment: Deployment,
) -> None:
    deployment.extra_env["SCHEDULING_PERIODIC"] = "1"
    deployment.start_worker()
    schedulers = [deployment.start_scheduler("--interval", "0.2") for _ in range(2)]
    wait_for(lambda: len(deployment.runs("every_second")) >= 5, 60, "five periodic runs")
    for scheduler in schedulers:
        assert scheduler.stop() == 0
    slots = deployment.python(PERIODIC_RUNS)
    wait_for(
        lambda: len(deployment.runs("every_second")) >= len(slots), 30, "the last released runs"
    )
    runs = deployment.runs("every_second")
    assert len(runs) == len(slots) >= 5  # one run per slot, no slot twice
    assert {run.tag for run in runs} == {"each-second"}  # the fixed kwargs
    times = [datetime.fromisoformat(slot) for slot, _ in slots]
    assert all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(times))
    assert all(run.at >= slot.timestamp() for run, slot in zip(runs, times, strict=True))
    won = [scheduler.output().count("periodic job=") for scheduler in schedulers]
    assert sum(won) == len(slots)  # each slot was started by exactly one of the two
    wait_for(
        lambda: {status for _, status in deployment.python(PERIODIC_RUNS)} == {"SUCCESSFUL"},
        30,
        "every run's record to be SUCCESSFUL",
    )
