"""A periodic job with fixed arguments: every second, one line in the run log."""

from __future__ import annotations

from datetime import timedelta

from django_gearman import Every, gearman_job
from tests.lifecycle.scheduling.scheduler_jobs.gearman_jobs import note_run


@gearman_job(schedule=Every(timedelta(seconds=1), kwargs={"tag": "each-second"}))
def every_second(tag: str) -> None:
    note_run("every_second", tag)
