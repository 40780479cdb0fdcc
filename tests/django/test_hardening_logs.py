"""Where a failure goes (issue 16, items 21 and 22). A background failure never reaches the
caller, who has only a handle: it goes to the log, at ERROR with the exception and its
traceback (never the arguments), and a refusal at WARNING with its reason. Eager mode does what
production does: the same log lines, and ``dispatch()`` returns its handle instead of raising.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from django_gearman import GearmanClient, JobFailed, JobRefused, Task
from django_gearman.calls import job_spec
from tests.django.jobs_app import gearman_jobs as jobs
from tests.django.support import WorkerProcess, wait_until

SECRET_ARGUMENT = "card-4111-1111-1111-1111"  # must never appear in any log
KEEP_QUIET = "tests.django.jobs_app.keep_quiet"
MSGPACK_ONLY = "tests.django.jobs_app.msgpack_only"
WORKER_LOG = "django_gearman.worker"


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == WORKER_LOG and r.levelno == level]


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged, as a handler would format it (tracebacks included)."""
    formatter = logging.Formatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


# -- eager mode ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("eager")
def test_an_eager_background_failure_is_logged_and_the_caller_gets_its_handle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="django_gearman"):
        handle = jobs.keep_quiet.dispatch(SECRET_ARGUMENT)
    assert handle.startswith("eager:")
    (error,) = records(caplog, logging.ERROR)
    assert f"job={KEEP_QUIET} handle={handle}" in error.getMessage()
    assert "outcome=error:tests.django.jobs_app.gearman_jobs.Boom" in error.getMessage()
    assert error.exc_info is not None and str(error.exc_info[1]) == "the job failed"
    assert 'raise Boom("the job failed")' in logged_text(caplog)
    assert SECRET_ARGUMENT not in logged_text(caplog)


@pytest.mark.usefixtures("eager")
def test_every_background_form_returns_its_handle_in_eager_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = GearmanClient()
    handles = [
        jobs.keep_quiet.using(background=True).submit(SECRET_ARGUMENT),
        client.submit_job(KEEP_QUIET, SECRET_ARGUMENT, background=True),
        client.submit_job(KEEP_QUIET, SECRET_ARGUMENT, wait_until_complete=False),
        client.dispatch_background_task(KEEP_QUIET, SECRET_ARGUMENT),
        client.do_task(Task(KEEP_QUIET, SECRET_ARGUMENT, background=True)),
        *client.do_tasks([Task(KEEP_QUIET, SECRET_ARGUMENT, background=True)]),
    ]
    assert all(handle.startswith("eager:") for handle in handles)
    assert len(records(caplog, logging.ERROR)) == len(handles)
    assert SECRET_ARGUMENT not in logged_text(caplog)


@pytest.mark.usefixtures("eager")
def test_an_eager_refusal_is_logged_at_warning_with_its_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = GearmanClient()
    task = Task(MSGPACK_ONLY, SECRET_ARGUMENT, background=True, serializer="json")
    assert client.do_task(task).startswith("eager:")
    (warning,) = records(caplog, logging.WARNING)
    message = warning.getMessage()
    assert "outcome=refused:serializers.errors.ContentTypeNotAccepted" in message
    assert "reason=" in message and "application/json" in message
    assert warning.exc_info is None
    assert not records(caplog, logging.ERROR)
    with pytest.raises(JobRefused):  # a foreground caller still gets the refusal
        client.do_task(Task(MSGPACK_ONLY, 1, serializer="json"))


@pytest.mark.usefixtures("eager")
def test_an_eager_foreground_failure_is_raised_and_logged_as_on_a_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(JobFailed) as failed:
        jobs.keep_quiet.submit(SECRET_ARGUMENT)
    assert isinstance(failed.value.__cause__, jobs.Boom)  # in-process: the real exception
    assert len(records(caplog, logging.ERROR)) == 1
    assert SECRET_ARGUMENT not in logged_text(caplog)


@pytest.mark.usefixtures("eager")
def test_an_eager_success_is_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="django_gearman"):
        assert jobs.add.submit(1, 2) == 3
    (info,) = records(caplog, logging.INFO)
    assert "job=tests.django.jobs_app.add" in info.getMessage()
    assert "outcome=ok" in info.getMessage()


# -- a real worker's stderr ---------------------------------------------------------------------


def test_the_worker_logs_a_background_failure_at_error_with_its_traceback(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    worker = start_worker()
    with GearmanClient() as client:
        handle = jobs.keep_quiet.using(client=client).dispatch(SECRET_ARGUMENT)
        wait_until(lambda: 'raise Boom("the job failed")' in worker.output(), 20, "the error")
    lines = worker.output().splitlines()
    (line,) = [line for line in lines if f"handle={handle}" in line]
    assert " ERROR django_gearman.worker job=" + KEEP_QUIET in line
    assert "outcome=error:tests.django.jobs_app.gearman_jobs.Boom" in line
    assert "Traceback (most recent call last)" in worker.output()
    assert "Boom: the job failed" in worker.output()
    assert SECRET_ARGUMENT not in worker.output()


def test_the_worker_logs_a_refusal_at_warning_with_its_reason(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    worker = start_worker()
    with GearmanClient() as client:
        payload = job_spec(jobs.echo).encode_call([SECRET_ARGUMENT], {})  # json, not msgpack
        handle = client.transport.submit(MSGPACK_ONLY, payload, background=True).handle
        assert handle
        wanted = f"handle={handle.decode()}"
        wait_until(lambda: wanted in worker.output(), 20, "the refusal in the worker's log")
    (line,) = [line for line in worker.output().splitlines() if wanted in line]
    assert " WARNING django_gearman.worker " in line
    assert "outcome=refused:serializers.errors.ContentTypeNotAccepted" in line
    assert "reason=content type 'application/json' is not accepted" in line
    assert "Traceback" not in worker.output()
    assert SECRET_ARGUMENT not in worker.output()
