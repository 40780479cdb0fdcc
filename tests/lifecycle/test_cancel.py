"""Cancelling: a job cancelled while queued never runs (it leaves gearmand's queue, and a worker
that receives it anyway skips it); a running job is asked to stop and can see that."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from django_gearman import cancel, store
from django_gearman.models import JobRecord
from django_gearman.protocol import AdminClient
from django_gearman.results import ResultDoesNotExist
from tests.django.support import wait_until
from tests.lifecycle.store_jobs import gearman_jobs as jobs
from tests.lifecycle.store_support import JOBS, StoreDatabase, start_worker
from tests.support.gearmand import Gearmand

WAIT = 30.0


def queued(address: str, function: str) -> int:
    with AdminClient(address, timeout=5.0) as admin:
        return sum(s.queued for s in admin.status() if s.function == function)


def ignored(address: str) -> dict[str, bool]:
    """gearmand's ``show jobs``: handle -> cancelled (``cancel job`` flags, it does not unlink)."""
    with AdminClient(address, timeout=5.0) as admin:
        return {job.handle: job.ignore_job for job in admin.show_jobs()}


def test_a_cancelled_queued_job_never_runs(
    gearmand: Gearmand, store_database: StoreDatabase, tmp_path: Path
) -> None:
    function = f"{JOBS}.stored_mark"
    with override_settings(GEARMAN_SERVERS=[gearmand.address]):
        removed = jobs.stored_mark.dispatch(str(tmp_path / "removed"))
        skipped = jobs.stored_mark.dispatch(str(tmp_path / "skipped"))
        assert queued(gearmand.address, function) == 2
        assert cancel(removed.id) is True
        # Taken out of gearmand's queue: no worker will be given it.
        assert ignored(gearmand.address) == {removed.handle: True, skipped.handle: False}
        # The store alone says CANCELLED (as when the cancel races a worker's GRAB_JOB):
        # gearmand still hands the job out, and the worker skips it.
        record_id = store.parse_record_id(skipped.id)
        assert record_id is not None
        outcome = store.cancel(record_id)
        assert outcome is not None and outcome.cancelled
        assert ignored(gearmand.address)[skipped.handle] is False
        worker = start_worker(gearmand.address, store_database, "-w", "1", wait_for="stored_mark")
        try:
            control = jobs.stored_mark.dispatch(str(tmp_path / "control")).wait(WAIT)
            assert control.status == "SUCCESSFUL"
            wait_until(lambda: queued(gearmand.address, function) == 0, WAIT, "an empty queue")
        finally:
            worker.stop()
    assert not (tmp_path / "removed").exists()
    assert not (tmp_path / "skipped").exists()
    for result in (removed, skipped):
        result.refresh()
        assert result.status == "CANCELLED" and result.attempts == 0
        assert result.finished_at is not None
    assert cancel(control.id) is False  # finished: nothing to cancel
    with pytest.raises(ResultDoesNotExist):
        cancel("0" * 32)


def test_a_running_job_is_asked_to_stop(gearman_servers: str, tmp_path: Path) -> None:
    started = tmp_path / "started"
    result = jobs.slow.dispatch(str(started), 60.0)
    wait_until(started.exists, WAIT, "the slow job to start")
    assert cancel(result.id) is False  # it runs: it cannot be taken back
    assert JobRecord.objects.get(pk=result.id).cancel_requested
    result.wait(WAIT)
    assert result.status == "SUCCESSFUL"
    assert result.return_value == "stopped"  # it saw current_job().cancel_requested
    assert result.cancel_requested
