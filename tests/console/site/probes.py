"""Console functions run inside the test site's process (``manage.py shell``) on a known set of
records; each returns plain data that the test process checks. The test process itself never
opens the database."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from django_gearman.console.activity import recent_activity
from django_gearman.console.metrics import collect_record_metrics, render_metrics
from django_gearman.console.status import StatusSnapshot
from django_gearman.models import JobRecord


def record_metrics(run_seconds: list[tuple[float, str]], ready: int) -> dict[str, Any]:
    """Records of ``app.job`` that ran that long and ended so, plus ``ready`` waiting ones."""
    now = timezone.now()
    for seconds, status in run_seconds:
        JobRecord.objects.create(
            id=uuid.uuid4(),
            job_name="app.job",
            status=status,
            enqueued_at=now,
            started_at=now - dt.timedelta(seconds=seconds),
            finished_at=now,
            call=b"x",
        )
    for _ in range(ready):
        JobRecord.objects.create(id=uuid.uuid4(), job_name="app.job", enqueued_at=now, call=b"x")
    metrics = collect_record_metrics()
    return {
        "by_status": sorted(
            [job, status, count] for (job, status), count in metrics.by_status.items()
        ),
        "durations": [
            [h.job, list(h.cumulative), h.count, h.total_seconds] for h in metrics.durations
        ],
        "text": render_metrics(StatusSnapshot(now, ()), metrics),
    }


def activity(finished: list[tuple[str, float | None, str]], window: int) -> dict[str, Any]:
    """Records (status, finished how many minutes ago or None, queue) with a fixed clock at
    hh:mm:30; the activity over the last ``window`` minutes."""
    now = timezone.now().replace(second=30, microsecond=0)
    for status, minutes_ago, queue in finished:
        done = now - dt.timedelta(minutes=minutes_ago) if minutes_ago is not None else None
        JobRecord.objects.create(
            id=uuid.uuid4(),
            job_name=f"app.{queue or 'none'}",
            queue=queue,
            status=status,
            enqueued_at=now - dt.timedelta(minutes=30 if done is None else 20),
            finished_at=done,
            call=b"x",
        )
    result = recent_activity(now, window)
    return {
        "bars": [[bar.label, bar.successful, bar.failed] for bar in result.bars],
        "successful": result.successful,
        "failed": result.failed,
        "failure_percent": result.failure_percent,
        "queues": [[q.queue, q.waiting, q.age] for q in result.queues],
    }
