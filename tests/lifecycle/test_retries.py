"""Retries end to end: a failed attempt goes back to the store (READY, ``run_after``), is handed
to gearmand again when due, backs off, and stops at ``retries``; every attempt is recorded."""

from __future__ import annotations

from pathlib import Path

from django_gearman.models import JobRecord
from tests.django.support import wait_until
from tests.lifecycle.store_jobs import gearman_jobs as jobs
from tests.lifecycle.store_support import release_until_finished, run_count, run_times

UNLUCKY = "tests.lifecycle.store_jobs.gearman_jobs.Unlucky"


def test_a_flaky_job_backs_off_and_succeeds(gearman_servers: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = jobs.flaky.dispatch(str(runs), 2)
    release_until_finished(result, gearman_servers)
    assert result.status == "SUCCESSFUL"
    assert result.return_value == 3
    assert result.attempts == 3 and result.max_attempts == 4
    assert [error.type for error in result.errors] == [UNLUCKY, UNLUCKY]
    assert [error.message for error in result.errors] == ["run 1", "run 2"]
    first, second, third = run_times(runs)
    # Backoff with jitter: at least half of 0.2 s, then at least half of 0.4 s (never sooner).
    assert second - first >= 0.1
    assert third - second >= 0.2


def test_retries_stop_at_n_and_keep_every_error(gearman_servers: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = jobs.flaky.dispatch(str(runs), 100)
    release_until_finished(result, gearman_servers)
    assert result.status == "FAILED"
    assert run_count(runs) == 4  # the first run and 3 retries
    assert result.attempts == 4
    assert [error.type for error in result.errors] == [UNLUCKY] * 4
    assert "Traceback" in result.errors[-1].traceback
    record = JobRecord.objects.get(pk=result.id)
    assert len(record.attempt_errors) == 3 and record.error_message == "run 4"


def test_an_exception_outside_retry_on_is_not_retried(gearman_servers: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = jobs.wrong_kind.dispatch(str(runs))
    release_until_finished(result, gearman_servers)
    assert result.status == "FAILED"
    assert run_count(runs) == 1
    assert [error.type for error in result.errors] == ["builtins.KeyError"]


def test_a_job_asks_for_a_retry(gearman_servers: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = jobs.asks_for_retry.dispatch(str(runs))
    release_until_finished(result, gearman_servers)
    assert result.status == "SUCCESSFUL" and result.return_value == 2
    assert [error.type for error in result.errors] == ["django_gearman.retries.Retry"]
    first, second = run_times(runs)
    assert second - first >= 0.3  # Retry(after=0.3): never before


def test_a_retry_waits_in_the_store_not_in_a_worker(gearman_servers: str, tmp_path: Path) -> None:
    """Between attempts the record is READY, held (``released_at`` null) with ``run_after``:
    nothing of it lives in a worker process, so a dead worker cannot lose it."""
    runs = tmp_path / "runs"
    result = jobs.flaky.dispatch(str(runs), 1)

    def back_in_the_store() -> bool:
        record = JobRecord.objects.get(pk=result.id)
        return record.attempts == 1 and record.status == "READY"

    wait_until(back_in_the_store, 30, "the first attempt to go back to the store")
    record = JobRecord.objects.get(pk=result.id)
    assert record.released_at is None
    assert record.run_after is not None and record.started_at is not None
    assert record.run_after > record.started_at
    release_until_finished(result, gearman_servers)
    assert result.status == "SUCCESSFUL" and run_count(runs) == 2
