"""Django's connection hygiene around a job costs nothing until the process opens a database
connection, and from then on runs before and after every job a worker serves (never around an
eager job: its connections are the caller's)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from django_gearman import signals
from django_gearman.calls import job_spec
from django_gearman.protocol import WorkerJob
from django_gearman.serving import job_callback
from tests.django.jobs_app.gearman_jobs import echo


@pytest.fixture
def closes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of Django's ``close_old_connections`` made around a job."""
    calls: list[str] = []
    monkeypatch.setattr(signals, "close_old_connections", lambda: calls.append("close"))
    return calls


def serve_one_job() -> None:
    """What a worker process does with one assigned call of ``echo``."""
    spec = job_spec(echo)
    payload = spec.encode_call(["hello"], {})
    job = WorkerJob(cast(Any, None), b"H:test:1", spec.wire_name, b"", payload)
    assert spec.decode_result(job_callback(spec, echo)(job)) == "hello"


def test_no_connection_ever_opened_means_nothing_to_close(
    closes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "_opened_a_connection", False)
    serve_one_job()
    assert closes == []


def test_once_a_connection_was_opened_every_job_closes_old_ones_before_and_after(
    closes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "_opened_a_connection", False)
    # what Django sends when any backend opens a connection (the first query of a process)
    connection_created.send(sender=type(connection), connection=connection)
    assert signals._opened_a_connection is True
    serve_one_job()
    serve_one_job()
    assert closes == ["close"] * 4


def test_eager_jobs_never_close_the_callers_connections(
    closes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "_opened_a_connection", True)
    assert echo.using(eager=True).submit("hello") == "hello"
    assert closes == []
