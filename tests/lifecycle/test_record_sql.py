"""The store's plain-SQL writes (``django_gearman.record_sql``) leave the row the ORM would,
on SQLite and on PostgreSQL: every column of an insert, the compare-and-set of start and finish
(0 rows when the condition does not hold), and the handle; each through Django's cursor, so
query logging sees it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_gearman import store
from django_gearman.models import JobRecord
from tests.lifecycle.store_support import StoreDatabase


def test_an_insert_writes_every_column_as_the_orm_reads_it(store_database: StoreDatabase) -> None:
    earlier = store.insert(uuid.uuid4(), job_name="earlier", call=b"x")
    record_id = uuid.uuid4()
    later = timezone.now() + timedelta(hours=1)
    with CaptureQueriesContext(connections[store.database_alias()]) as queries:
        made = store.insert(
            record_id,
            job_name="tests.job",
            call=b"\x00binary\xff",
            queue="q",
            priority="high",
            max_attempts=3,
            run_after=later,
            task_priority=-5,
            backend="tasks",
            retry_of=earlier.id,
        )
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert not made._state.adding and made._state.db == store.database_alias()
    row = JobRecord.objects.get(pk=record_id)
    assert (row.job_name, row.queue, row.priority) == ("tests.job", "q", "high")
    assert row.status == "READY"
    assert bytes(row.call) == b"\x00binary\xff" and row.result is None
    assert (row.max_attempts, row.attempts, row.task_priority) == (3, 0, -5)
    assert row.run_after == later and row.released_at is None  # held for the scheduler
    assert row.enqueued_at == made.enqueued_at and row.started_at is None
    assert row.attempt_errors == [] and row.cancel_requested is False
    assert (row.worker, row.handle, row.server, row.error_type) == ("", "", "", "")
    assert row.backend == "tasks" and row.retry_of is not None and row.retry_of.id == earlier.id


def test_start_finish_and_handle_are_compare_and_set(store_database: StoreDatabase) -> None:
    record_id = uuid.uuid4()
    store.insert(record_id, job_name="tests.job", call=b"c")
    store.note_sent(record_id, "H:host:7", "127.0.0.1:4730")
    assert store.finish_successful(record_id, "host:1", b"early") is False  # not RUNNING yet
    assert store.start(record_id, "H:host:7", "host:1") is store.Start.RUN
    row = JobRecord.objects.get(pk=record_id)
    assert (row.status, row.worker, row.attempts) == ("RUNNING", "host:1", 1)
    assert (row.handle, row.server) == ("H:host:7", "127.0.0.1:4730")
    assert row.started_at is not None and row.finished_at is None
    assert store.finish_successful(record_id, "host:2", b"other") is False  # not its attempt
    assert store.finish_successful(record_id, "host:1", b"\x00result") is True
    row = JobRecord.objects.get(pk=record_id)
    assert row.status == "SUCCESSFUL" and bytes(row.result or b"") == b"\x00result"
    assert row.started_at is not None and row.finished_at is not None
    assert row.finished_at >= row.started_at
    assert store.start(record_id, "H:host:7", "host:1") is store.Start.SKIP  # finished
    assert JobRecord.objects.get(pk=record_id).attempts == 1


def test_a_read_by_id_gives_what_the_orm_gives(store_database: StoreDatabase) -> None:
    from django_gearman import record_sql

    earlier = store.insert(uuid.uuid4(), job_name="earlier", call=b"x")
    record_id = uuid.uuid4()
    store.insert(
        record_id, job_name="tests.job", call=b"\x00c", task_priority=7, retry_of=earlier.id
    )
    JobRecord.objects.filter(pk=record_id).update(
        status="FAILED",
        started_at=timezone.now(),
        result=b"\xffr",
        attempt_errors=[{"type": "builtins.ValueError", "message": "no", "worker": "h:1"}],
        cancel_requested=True,
    )
    with CaptureQueriesContext(connections[store.database_alias()]) as queries:
        found = store.fetch(record_id)
    assert len(queries.captured_queries) == 1
    expected = JobRecord.objects.get(pk=record_id)
    assert found is not None and found._state.db == store.database_alias()
    for field in JobRecord._meta.concrete_fields:
        mine, theirs = getattr(found, field.attname), getattr(expected, field.attname)
        if isinstance(theirs, memoryview):
            mine, theirs = bytes(mine), bytes(theirs)
        assert mine == theirs and type(mine) is type(theirs), field.name
    assert store.fetch(uuid.uuid4()) is None
    assert record_sql.fetch(store.database_alias(), record_id.hex) is not None  # hex ids too
