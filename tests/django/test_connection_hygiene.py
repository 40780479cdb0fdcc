"""Django's connection hygiene around a job costs nothing until the process opens a database
connection, and from then on runs before and after every job."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from django_gearman import signals
from django_gearman.signals import JobAttempt


@pytest.fixture
def closes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of Django's ``close_old_connections`` made by a job attempt."""
    calls: list[str] = []
    monkeypatch.setattr(signals, "close_old_connections", lambda: calls.append("close"))
    return calls


def run_attempt() -> None:
    attempt = JobAttempt(None)
    assert attempt.started("H:test:1", {}) is None
    attempt.succeeded(b"result")


def test_no_connection_ever_opened_means_nothing_to_close(
    closes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "_opened_a_connection", False)
    run_attempt()
    assert closes == []


def test_once_a_connection_was_opened_every_job_closes_old_ones_before_and_after(
    closes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "_opened_a_connection", False)
    # what Django sends when any backend opens a connection (the first query of a process)
    connection_created.send(sender=type(connection), connection=connection)
    assert signals._opened_a_connection is True
    run_attempt()
    run_attempt()
    assert closes == ["close"] * 4


def test_eager_attempts_never_close_the_callers_connections(
    closes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signals, "_opened_a_connection", True)
    attempt = JobAttempt(None, hygiene=False)
    attempt.started("eager:1", {})
    attempt.succeeded(b"result")
    assert closes == []
