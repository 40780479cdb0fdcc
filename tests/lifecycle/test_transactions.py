"""Jobs and database transactions: ``using(on_commit=True)`` sends a job only when the
surrounding transaction commits; a stored job dispatched inside a transaction is sent at the
commit (its record is part of the transaction); a rollback sends nothing and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction

from django_gearman.exceptions import ConfigurationError
from django_gearman.models import JobRecord
from django_gearman.protocol import AdminClient
from tests.django.support import wait_until
from tests.lifecycle.store_jobs import gearman_jobs as jobs
from tests.lifecycle.store_support import JOBS

WAIT = 30.0


class Rollback(Exception):
    pass


def submitted(address: str) -> int:
    """Jobs gearmand holds for the marking jobs (queued or running)."""
    names = {f"{JOBS}.stored_mark", f"{JOBS}.unstored_mark"}
    with AdminClient(address, timeout=5.0) as admin:
        return sum(s.queued for s in admin.status() if s.function in names)


def test_a_rollback_sends_nothing(gearman_servers: str, tmp_path: Path) -> None:
    stored_path, unstored_path = tmp_path / "stored", tmp_path / "unstored"
    before = JobRecord.objects.count()
    with pytest.raises(Rollback), transaction.atomic():
        stored = jobs.stored_mark.dispatch(str(stored_path))
        assert stored.status == "READY"
        assert jobs.unstored_mark.using(on_commit=True).dispatch(str(unstored_path)) == ""
        assert submitted(gearman_servers) == 0  # nothing sent before the commit
        raise Rollback
    assert JobRecord.objects.count() == before
    # Prove the workers are idle and would have run the jobs: a control job after them.
    control = jobs.stored_mark.dispatch(str(tmp_path / "control")).wait(WAIT)
    assert control.status == "SUCCESSFUL"
    wait_until(lambda: submitted(gearman_servers) == 0, WAIT, "idle workers")
    assert not stored_path.exists() and not unstored_path.exists()


def test_a_commit_sends_the_jobs(gearman_servers: str, tmp_path: Path) -> None:
    stored_path, unstored_path = tmp_path / "stored", tmp_path / "unstored"
    with transaction.atomic():
        stored = jobs.stored_mark.dispatch(str(stored_path))
        jobs.unstored_mark.using(on_commit=True).dispatch(str(unstored_path))
        assert submitted(gearman_servers) == 0
        assert stored.handle == ""
    stored.wait(WAIT)
    assert stored.status == "SUCCESSFUL" and stored.handle.startswith("H:")
    wait_until(unstored_path.exists, WAIT, "the unstored job to run after the commit")
    assert stored_path.exists()


def test_on_commit_outside_a_transaction_sends_at_once(
    gearman_servers: str, tmp_path: Path
) -> None:
    path = tmp_path / "now"
    jobs.unstored_mark.using(on_commit=True).dispatch(str(path))
    wait_until(path.exists, WAIT, "the job to run")


def test_waiting_for_a_result_inside_a_transaction_is_refused(gearman_servers: str) -> None:
    """A foreground stored job inside ``atomic()`` would wait for a worker that cannot see
    its record before the commit: refused before anything is written or sent."""
    before = JobRecord.objects.count()
    with transaction.atomic():
        with pytest.raises(ConfigurationError, match="transaction"):
            jobs.stored_add.submit(1, 2)
        with pytest.raises(ConfigurationError, match="on_commit"):
            jobs.stored_add.using(on_commit=True).submit(1, 2)
    assert JobRecord.objects.count() == before
