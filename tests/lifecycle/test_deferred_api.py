"""``job.using(run_after=...)``/``using(countdown=...)`` in the client: what is written, what is
refused, and eager mode. (The release by real processes: ``test_deferred_processes``.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from django_gearman import ConfigurationError, gearman_job, registry
from django_gearman.models import JobRecord, ResultStatus
from django_gearman.results import StoredResult
from tests.lifecycle.scheduling.scheduler_jobs.gearman_jobs import mark
from tests.lifecycle.scheduling.support import Deployment, deployment
from tests.support.gearmand import Gearmand

pytestmark = pytest.mark.django_db
__all__ = ["deployment"]  # the fixture


@gearman_job(store_result=True, name="tests.lifecycle.deferred_stored")
def stored(tag: str) -> str:
    return tag.upper()


@pytest.fixture
def live(gearmand: Gearmand) -> Iterator[Gearmand]:
    with override_settings(GEARMAN_SERVERS=[gearmand.address], GEARMAN_EAGER=False):
        yield gearmand


def queued_jobs(server: Gearmand) -> int:
    from django_gearman.protocol import AdminClient

    with AdminClient(server.address) as admin:
        return sum(status.queued for status in admin.status())


def test_a_deferred_dispatch_writes_a_held_record_and_sends_nothing(live: Gearmand) -> None:
    due = timezone.now() + timedelta(hours=1)
    record_id = mark.using(run_after=due).dispatch("later")
    assert isinstance(record_id, str) and len(record_id) == 32  # an unstored job: the record id
    record = JobRecord.objects.get(pk=record_id)
    assert (record.status, record.run_after, record.released_at) == (ResultStatus.READY, due, None)
    assert record.job_name == mark.name
    assert record.handle == ""
    assert queued_jobs(live) == 0
    assert mark.get_result(record_id).status == "READY"


def test_a_stored_job_deferred_gives_its_stored_result(live: Gearmand) -> None:
    before = timezone.now()
    result = stored.using(countdown=90).dispatch("x")
    assert isinstance(result, StoredResult)
    assert result.run_after is not None
    assert before + timedelta(seconds=90) <= result.run_after <= timezone.now() + timedelta(90)
    assert queued_jobs(live) == 0


def test_the_countdown_starts_at_the_dispatch_not_at_using(live: Gearmand) -> None:
    later = mark.using(countdown=60)
    dispatched_at = timezone.now()
    record = JobRecord.objects.get(pk=later.dispatch("x"))
    assert record.run_after is not None
    assert record.run_after >= dispatched_at + timedelta(seconds=60)


def test_a_time_in_the_past_is_due_at_once(live: Gearmand) -> None:
    past = datetime(2020, 1, 1, tzinfo=UTC)
    record = JobRecord.objects.get(pk=mark.using(run_after=past).dispatch("x"))
    assert record.run_after == past  # the scheduler's next tick releases it


def test_a_later_using_replaces_the_deferral() -> None:
    job = mark.using(countdown=5).using(run_after=datetime(2030, 1, 1, tzinfo=UTC))
    assert (job.options.countdown, job.options.run_after) == (
        None,
        datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert registry.get(mark.name).options.run_after is None  # the job itself is unchanged


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"run_after": datetime(2030, 1, 1)}, "aware datetime"),
        ({"run_after": 1893456000}, "aware datetime"),
        ({"countdown": -5}, "from 0 to"),
        ({"run_after": datetime(2030, 1, 1, tzinfo=UTC), "countdown": 5}, "not both"),
    ],
)
def test_a_bad_deferral_is_refused_at_using(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        mark.using(**options)  # type: ignore[arg-type]


def test_a_deferred_job_cannot_be_submitted_in_the_foreground(live: Gearmand) -> None:
    with pytest.raises(ConfigurationError, match="dispatched, not submitted"):
        mark.using(countdown=10).submit("x")
    assert not JobRecord.objects.exists()


def test_in_eager_mode_a_deferred_job_runs_at_once() -> None:
    with override_settings(GEARMAN_EAGER=True):
        result = stored.using(countdown=3600).dispatch("now")
    result.refresh()
    assert result.status == "SUCCESSFUL"
    assert result.return_value == "NOW"
    record = JobRecord.objects.get(pk=result.id)
    assert record.run_after is None


def test_a_deferral_rolled_back_leaves_no_record(live: Gearmand) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        record_id = mark.using(countdown=1).dispatch("never")
        assert JobRecord.objects.filter(pk=record_id).exists()
        raise Abort
    assert not JobRecord.objects.filter(pk=record_id).exists()


EAGER_IN_TRANSACTION = """
import json
from django.db import transaction
from django.test import override_settings
from django_gearman.models import JobRecord
from tests.lifecycle.scheduling.scheduler_jobs.gearman_jobs import mark
with override_settings(GEARMAN_EAGER=True), transaction.atomic():
    before = JobRecord.objects.count()
    record_id = mark.using(countdown=5).dispatch("inside")
    after = JobRecord.objects.count()  # "closed database" if eager mode closed the connection
print(json.dumps([before, after, JobRecord.objects.get(pk=record_id).status]))
"""


def test_an_eager_job_inside_a_transaction_leaves_the_callers_connection_alone(
    deployment: Deployment,
) -> None:
    """Eager mode runs in the caller's transaction (here a plain process, not a test case):
    closing "old" connections there, as a worker does around each job, would break it."""
    assert deployment.python(EAGER_IN_TRANSACTION) == [0, 1, "SUCCESSFUL"]
