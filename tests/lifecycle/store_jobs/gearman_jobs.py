"""Jobs of the job-store tests. Files named by the caller are how a job tells the test that it
ran (a test never trusts the record alone to prove that a job did or did not run)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.dispatch import receiver

from django_gearman import Retry, current_job, gearman_job
from django_gearman.signals import job_finished, job_started


class Unlucky(Exception):
    """The failure a retried job raises while it has not run often enough."""


@gearman_job(store_result=True)
def stored_add(one: int, two: int) -> int:
    return one + two


@gearman_job(store_result=True)
def stored_fail(message: str) -> None:
    raise ValueError(message)


@gearman_job(queue="lifecycle-plain")
def unstored_mark(path: str) -> str:
    """Not stored: it must work without a database (``-q lifecycle-plain`` serves it alone)."""
    Path(path).write_text("ran")
    return "ran"


@gearman_job(store_result=True)
def stored_mark(path: str) -> str:
    """Appends one line per run, so that a test can count runs."""
    with open(path, "a") as runs:
        runs.write(f"{time.time()}\n")
    return "ran"


@gearman_job(store_result=True, retries=3, retry_on=(Unlucky,), retry_delay=0.2)
def flaky(path: str, failures: int) -> int:
    """Fails with ``Unlucky`` on its first ``failures`` runs, then returns the run count."""
    with open(path, "a") as runs:
        runs.write(f"{time.time()}\n")
    count = len(Path(path).read_text().splitlines())
    if count <= failures:
        raise Unlucky(f"run {count}")
    return count


@gearman_job(store_result=True, retries=2, retry_on=(Unlucky,), retry_delay=0.2)
def wrong_kind(path: str) -> None:
    """Raises an exception not in ``retry_on``: never retried."""
    with open(path, "a") as runs:
        runs.write(f"{time.time()}\n")
    raise KeyError("not retried")


@gearman_job(store_result=True, retries=2)
def asks_for_retry(path: str) -> int:
    """``raise Retry(after=...)`` on the first run."""
    with open(path, "a") as runs:
        runs.write(f"{time.time()}\n")
    count = len(Path(path).read_text().splitlines())
    if count == 1:
        raise Retry(after=0.3, reason="not yet")
    return count


@gearman_job(store_result=True, queue="lifecycle-slow")
def slow(path: str, seconds: float) -> str:
    """Writes ``path`` when it starts, then works for ``seconds`` (checking for a cancel)."""
    Path(path).write_text(str(os.getpid()))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if current_job().cancel_requested:
            return "stopped"
        time.sleep(0.05)
    return "done"


@gearman_job(store_result=True)
def breaks_its_connection() -> None:
    """Leaves its connection outside autocommit with a failed statement (on PostgreSQL an
    aborted transaction): the worker must not let that reach its own writes or the next job."""
    transaction.set_autocommit(False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


@gearman_job(store_result=True)
def count_records() -> int:
    from django_gearman.models import JobRecord

    return JobRecord.objects.count()


def _note(event: str, **details: Any) -> None:
    path = os.environ.get("STORE_TEST_SIGNALS")
    if path:
        with open(path, "a") as notes:
            notes.write(json.dumps({"event": event, "pid": os.getpid(), **details}) + "\n")


@receiver(job_started, sender=stored_add)
def _started(sender: Any, handle: str, job_id: Any, **kwargs: Any) -> None:
    _note("started", job=sender.name, job_id=job_id.hex if job_id else None)


@receiver(job_finished, sender=stored_add)
def _finished(sender: Any, handle: str, job_id: Any, status: str, **kwargs: Any) -> None:
    _note("finished", job=sender.name, job_id=job_id.hex if job_id else None, status=status)
