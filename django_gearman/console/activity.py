"""What the job records say about recent work: throughput, failures and how long queues wait.

gearmand keeps no history, so these numbers come from ``JobRecord`` (only jobs that store their
records appear). Every query is one aggregate over indexed or time-bounded rows: the page costs
the same with ten or a million records outside the window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min, Q

from .chart import Bar

DEFAULT_QUEUE_LABEL = "(no queue)"


@dataclass(frozen=True, slots=True)
class JobActivity:
    job: str
    successful: int
    failed: int

    @property
    def finished(self) -> int:
        return self.successful + self.failed

    @property
    def failure_rate(self) -> float:
        return self.failed / self.finished if self.finished else 0.0

    @property
    def failure_percent(self) -> float:
        return 100 * self.failure_rate


def format_age(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``, ``3 d 4 h``: readable at a glance."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@dataclass(frozen=True, slots=True)
class QueueAge:
    queue: str
    waiting: int
    oldest_enqueued_at: dt.datetime

    age_seconds: float

    @property
    def age(self) -> str:
        return format_age(self.age_seconds)


@dataclass(frozen=True, slots=True)
class Activity:
    since: dt.datetime
    minutes: int
    bars: tuple[Bar, ...]
    jobs: tuple[JobActivity, ...]
    queues: tuple[QueueAge, ...]

    @property
    def successful(self) -> int:
        return sum(job.successful for job in self.jobs)

    @property
    def failed(self) -> int:
        return sum(job.failed for job in self.jobs)

    @property
    def per_minute(self) -> float:
        return (self.successful + self.failed) / self.minutes

    @property
    def failure_rate(self) -> float:
        finished = self.successful + self.failed
        return self.failed / finished if finished else 0.0

    @property
    def failure_percent(self) -> float:
        return 100 * self.failure_rate


def _minute_bars(now: dt.datetime, minutes: int) -> tuple[tuple[Bar, ...], tuple[JobActivity, ...]]:
    """One aggregate with a pair of conditional counts per minute (plain comparisons of the
    indexed-or-scanned column, no per-row date functions), and one grouped query per job."""
    from django_gearman.models import JobRecord
    from django_gearman.models import ResultStatus as Status

    start = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=minutes - 1)
    finished = JobRecord.objects.filter(
        finished_at__gte=start, status__in=(Status.SUCCESSFUL, Status.FAILED)
    )
    edges = [start + dt.timedelta(minutes=step) for step in range(minutes + 1)]
    counts: dict[str, Count] = {}
    for step in range(minutes):
        in_minute = Q(finished_at__gte=edges[step], finished_at__lt=edges[step + 1])
        counts[f"ok{step}"] = Count("pk", filter=in_minute & Q(status=Status.SUCCESSFUL))
        counts[f"failed{step}"] = Count("pk", filter=in_minute & Q(status=Status.FAILED))
    totals = finished.aggregate(**counts)
    bars = tuple(
        Bar(edges[step].strftime("%H:%M"), totals[f"ok{step}"], totals[f"failed{step}"])
        for step in range(minutes)
    )
    per_job = (
        finished.values_list("job_name")
        .annotate(
            successful=Count("pk", filter=Q(status=Status.SUCCESSFUL)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
        )
        .order_by("job_name")
    )
    jobs = tuple(JobActivity(name, ok, bad) for name, ok, bad in per_job)
    return bars, jobs


def waiting_queues(now: dt.datetime) -> tuple[QueueAge, ...]:
    """Per queue: records that are due and not yet started, and when the oldest was enqueued."""
    from django_gearman.models import JobRecord, ResultStatus

    due = Q(run_after__isnull=True) | Q(run_after__lte=now)
    rows = (
        JobRecord.objects.filter(due, status=ResultStatus.READY)
        .values_list("queue")
        .annotate(waiting=Count("pk"), oldest=Min("enqueued_at"))
        .order_by("queue")
    )
    return tuple(
        QueueAge(
            queue or DEFAULT_QUEUE_LABEL,
            waiting,
            oldest,
            max((now - oldest).total_seconds(), 0.0),
        )
        for queue, waiting, oldest in rows
        if oldest is not None
    )


def recent_activity(now: dt.datetime, minutes: int) -> Activity:
    """Throughput per minute and per job over the last ``minutes``, and the waiting queues."""
    bars, jobs = _minute_bars(now, minutes)
    since = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=minutes - 1)
    return Activity(since=since, minutes=minutes, bars=bars, jobs=jobs, queues=waiting_queues(now))
