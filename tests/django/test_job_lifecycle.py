"""An attempt of a job gets lifecycle hooks only when something observes it: a record id in
its envelope, or a receiver of ``job_started``/``job_finished`` (for any sender) connected when
it starts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_gearman.signals import JobAttempt, JobLifecycle, job_finished, job_started


def receiver(**kwargs: Any) -> None:
    pass


@pytest.fixture
def lifecycle() -> JobLifecycle:
    return JobLifecycle(None)


@pytest.fixture(params=[job_started, job_finished], ids=["job_started", "job_finished"])
def connected(request: pytest.FixtureRequest) -> Iterator[None]:
    request.param.connect(receiver)
    yield
    request.param.disconnect(receiver)


@pytest.fixture
def no_receivers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither signal has a receiver (other tests' apps connect some for their own jobs)."""
    monkeypatch.setattr(job_started, "receivers", [])
    monkeypatch.setattr(job_finished, "receivers", [])


@pytest.mark.usefixtures("no_receivers")
def test_an_attempt_nothing_observes_gets_no_hooks(lifecycle: JobLifecycle) -> None:
    assert lifecycle.attempt({}) is None
    assert lifecycle.attempt({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}) is None


@pytest.mark.usefixtures("no_receivers")
def test_a_stored_jobs_attempt_gets_hooks_for_its_record(lifecycle: JobLifecycle) -> None:
    assert isinstance(lifecycle.attempt({"id": "0" * 32}), JobAttempt)


@pytest.mark.usefixtures("no_receivers", "connected")
def test_a_connected_receiver_gets_every_attempt_observed(lifecycle: JobLifecycle) -> None:
    attempt = lifecycle.attempt({})
    assert isinstance(attempt, JobAttempt)
    assert attempt.hygiene is True
    assert JobLifecycle(None, hygiene=False).attempt({}).hygiene is False  # type: ignore[union-attr]
