"""What a failed job tells its caller (issue 16, items 9, 10, 12), against real gearmand and
``manage.py gearman_worker`` subprocesses: the type and message by default, a traceback only
when the worker's project says so; an error never much larger than a small fixed bound, however
hostile the call; and every error a submit raises is a ``GearmanJobError``.
"""

from __future__ import annotations

import asyncio
import pickle
import re
import threading
from collections.abc import Callable, Iterator

import orjson
import pytest
from django.test import override_settings

from django_gearman import GearmanClient, GearmanJobError, JobFailed, JobRefused, Task
from django_gearman.calls import job_spec, remote_spec
from django_gearman.protocol import (
    JobTimeout,
    NoServerAvailable,
    OutcomeUnknown,
    ServerError,
    Worker,
    WorkerJob,
)
from serializers import PayloadTooLarge, SignatureMissing, ValidationFailed
from tests.django.jobs_app import gearman_jobs as jobs
from tests.django.support import ROOT, WorkerProcess, wait_until, workers_for
from tests.support.gearmand import Gearmand, free_port

ADD = "tests.django.jobs_app.add"
ERROR_ENVELOPE_BOUND = 64 * 1024  # what "well under the 16 MiB payload limit" means here
TRACEBACK_MARKERS = ("Traceback", "raise Boom(message)", "gearman_jobs.py", 'File "')


def raw_exception(client: GearmanClient, name: str, payload: bytes) -> bytes:
    """The WORK_EXCEPTION bytes a worker sends for ``payload`` (as a peer in any language
    would see them)."""
    result = client.transport.submit(remote_spec(name, "json").wire_name, payload, timeout=60)
    assert result.state == "exception", result
    return result.exception or b""


# -- 9: tracebacks stay on the worker unless a setting sends them ------------------------------


def test_a_caller_gets_type_and_message_and_the_worker_log_keeps_the_traceback(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    worker = start_worker()
    client = GearmanClient()
    with pytest.raises(JobFailed) as caught:
        jobs.explode.using(client=client).submit("disk full")
    assert caught.value.remote_type == "tests.django.jobs_app.gearman_jobs.Boom"
    assert caught.value.remote_message == "disk full"
    assert caught.value.remote_traceback == ""
    call = job_spec(jobs.explode).encode_call(["disk full"], {})
    envelope = raw_exception(client, "tests.django.jobs_app.explode", call)
    error = orjson.loads(envelope.split(b"\n", 1)[1])["error"]
    assert error["traceback"] == ""  # the key the spec requires is there, and empty
    for marker in (*TRACEBACK_MARKERS, str(jobs.__file__)):
        assert marker.encode() not in envelope
    wait_until(lambda: "raise Boom(message)" in worker.output(), 20, "the traceback in the log")
    assert "Traceback (most recent call last)" in worker.output()
    client.close()


def test_tracebacks_travel_when_the_workers_project_sets_gearman_send_tracebacks(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    start_worker(env={"TEST_GEARMAN_SEND_TRACEBACKS": "1"})
    with GearmanClient() as client, pytest.raises(JobFailed) as caught:
        jobs.explode.using(client=client).submit("disk full")
    assert "raise Boom(message)" in caught.value.remote_traceback
    assert caught.value.remote_message == "disk full"


@pytest.mark.parametrize("value", [1, "yes", None])
def test_gearman_send_tracebacks_must_be_a_boolean(value: object) -> None:
    from django_gearman.conf import read_settings

    with override_settings(GEARMAN_SEND_TRACEBACKS=value):
        assert any("GEARMAN_SEND_TRACEBACKS" in problem for problem in read_settings().problems)


# -- 10: a hostile call cannot make its error larger than a fixed bound ---------------------


def hostile_call(body: dict[str, object]) -> bytes:
    return b"GME/1 ct=application/json\n" + orjson.dumps(body)


HOSTILE_CALLS: dict[str, tuple[dict[str, object], int]] = {
    # name: (call body, validation errors the worker finds)
    "200000-unexpected-positionals": ({"args": [0] * 200_000, "kwargs": {}}, 200_000 - 3),
    "200000-unexpected-keywords": (
        {"args": [1, 2], "kwargs": {f"k{index}": index for index in range(200_000)}},
        200_000,
    ),
    "one-keyword-with-a-1MB-name": ({"args": [1, 2], "kwargs": {"k" * (1 << 20): 1}}, 1),
}


@pytest.mark.parametrize("case", list(HOSTILE_CALLS))
def test_a_hostile_call_gets_a_small_error_with_a_count_of_what_was_left_out(
    case: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    from django_gearman.calls import MAX_ERROR_DETAILS

    body, found = HOSTILE_CALLS[case]
    start_worker()
    call = hostile_call(body)
    with GearmanClient() as client:
        envelope = raw_exception(client, ADD, call)
        assert len(envelope) < ERROR_ENVELOPE_BOUND < len(call)
        refused = remote_spec(ADD, "json").decode_failure(envelope)
        assert isinstance(refused, JobRefused)
        assert refused.remote_type == "serializers.errors.ValidationFailed"
        listed = min(found, MAX_ERROR_DETAILS)
        assert len(refused.details) == listed
        assert refused.details_omitted == found - listed
        assert all(set(detail) == {"loc", "msg", "type"} for detail in refused.details)
        assert len(refused.remote_message) < ERROR_ENVELOPE_BOUND // 4
        assert client.submit_job(ADD, one=1, two=2) == 3  # the same worker keeps serving


def test_the_error_envelope_is_bounded_with_tracebacks_on_too() -> None:
    """Every part has its own bound: message, traceback, each listed error and their count."""
    from django_gearman.calls import MAX_ERROR_DETAILS

    with override_settings(GEARMAN_SEND_TRACEBACKS=True):
        spec = job_spec(jobs.add)
        huge = ValidationFailed(
            "m" * (1 << 20),
            [{"loc": "l" * 100_000, "msg": "x" * 100_000, "type": "t" * 100_000}] * 1000,
        )
        try:
            raise huge
        except ValidationFailed as exc:
            envelope = spec.error_envelope(exc, refused=True)
    assert len(envelope) < 256 * 1024
    refused = spec.decode_failure(envelope)
    assert refused.details_omitted == 1000 - MAX_ERROR_DETAILS


# -- 12: one base class for everything a submit raises ----------------------------------------


@pytest.fixture
def unsigned_replier(live: Gearmand) -> Iterator[None]:
    """A worker outside this project (plain transport, as another language would write it)
    that answers every call with an unsigned envelope."""
    worker = Worker([live.address])

    def reply(job: WorkerJob) -> bytes:
        return b'GME/1 ct=application/json\n"done"'

    worker.register("outside.unsigned", reply)
    thread = threading.Thread(target=worker.work, daemon=True)
    thread.start()
    wait_until(lambda: workers_for(live.address, "outside.unsigned") >= 1, 10, "the replier")
    yield
    worker.stop()
    thread.join(10)
    worker.close()


@override_settings(GEARMAN_SIGNING_KEYS={"k1": "a-secret-of-enough-length"})
def test_an_unsigned_reply_to_a_client_that_requires_signatures_is_a_gearman_job_error(
    unsigned_replier: None,
) -> None:
    from django_gearman.exceptions import LayerError

    with GearmanClient() as client:
        try:
            client.submit_job("outside.unsigned", 1)
        except GearmanJobError as exc:
            caught: BaseException = exc
        else:
            raise AssertionError("the unsigned reply was accepted")
    assert isinstance(caught, SignatureMissing)  # still the payload layer's own class
    assert isinstance(caught, LayerError)


def test_transport_errors_are_gearman_job_errors(live: Gearmand) -> None:
    with override_settings(GEARMAN_REMOTE_JOBS=["nobody.*"]), GearmanClient() as client:
        with pytest.raises(GearmanJobError) as timed_out:
            client.submit_job("nobody.serves", 1, poll_timeout=0.3)
        assert isinstance(timed_out.value, JobTimeout)
        outcomes = client.do_tasks([Task("nobody.serves", 1, timeout=0.3)], return_exceptions=True)
        assert isinstance(outcomes[0], JobTimeout) and isinstance(outcomes[0], GearmanJobError)
    unused = f"127.0.0.1:{free_port()}"
    with GearmanClient([unused], timeout=2) as nowhere, pytest.raises(GearmanJobError) as caught:
        jobs.add.using(client=nowhere).submit(1, 2)
    assert isinstance(caught.value, NoServerAvailable)

    async def submit_nowhere() -> None:
        await jobs.add.using(client=GearmanClient([unused], timeout=2)).asubmit(1, 2)

    with pytest.raises(GearmanJobError) as async_caught:
        asyncio.run(submit_nowhere())
    assert isinstance(async_caught.value, NoServerAvailable)


@pytest.mark.usefixtures("eager")
def test_payload_and_call_errors_are_gearman_job_errors() -> None:
    from django_gearman.exceptions import InvalidCall

    client = GearmanClient()
    with pytest.raises(GearmanJobError) as invalid:
        jobs.add.submit("one", 2)  # type: ignore[arg-type]
    assert isinstance(invalid.value, ValidationFailed)
    assert invalid.value.errors[0]["loc"] == "args.0"  # attributes survive
    with pytest.raises(GearmanJobError) as wrong_result:
        jobs.wrong_result.submit()
    assert isinstance(wrong_result.value, ValidationFailed)
    with (
        override_settings(GEARMAN_MAX_PAYLOAD_SIZE=1024),
        pytest.raises(GearmanJobError) as too_large,
    ):
        jobs.echo.submit("x" * 2048)
    assert isinstance(too_large.value, PayloadTooLarge)
    with pytest.raises(InvalidCall):
        client.submit_job(ADD, 1, 2, 3)
    with pytest.raises(TypeError):  # what it was before: still caught as a TypeError
        client.submit_job(ADD, 1, 2, 3)
    with pytest.raises(GearmanJobError, match="unique must be"):
        jobs.add.using(unique="u" * 100).submit(1, 2)


@pytest.mark.parametrize(
    "error",
    [
        SignatureMissing("no signature"),
        ValidationFailed("bad", [{"loc": "args.0", "msg": "no", "type": "int_parsing"}]),
        JobTimeout("late"),
        OutcomeUnknown("gone"),
        ServerError("ERR_X", "text"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_twin_keeps_class_message_and_attributes_and_survives_pickling(
    error: Exception,
) -> None:
    from django_gearman.exceptions import as_job_error

    twin = as_job_error(error)
    assert isinstance(twin, GearmanJobError) and isinstance(twin, type(error))
    assert str(twin) == str(error) and vars(twin) == vars(error)
    assert type(as_job_error(error)) is type(twin)  # one twin class per class
    copy = pickle.loads(pickle.dumps(twin))
    assert type(copy) is type(twin) and str(copy) == str(error) and vars(copy) == vars(error)
    assert as_job_error(twin) is twin
    bug = KeyError("a bug stays a bug")
    assert as_job_error(bug) is bug


def test_the_docs_show_the_codes_error_bounds_and_every_setting() -> None:
    from django_gearman.calls import MAX_DETAIL_TEXT, MAX_ERROR_DETAILS
    from django_gearman.conf import DEFAULTS

    def text(path: str) -> str:
        return " ".join((ROOT / path).read_text("utf-8").split())

    assert f"at most {MAX_ERROR_DETAILS} validation problems" in text("README.md")
    assert (
        f"at most {MAX_ERROR_DETAILS} validation errors with each field at {MAX_DETAIL_TEXT} "
        "characters" in text("docs/usage.md")
    )
    assert f"django-gearman lists at most {MAX_ERROR_DETAILS}" in text("docs/envelope.md")
    readme = (ROOT / "README.md").read_text("utf-8")
    assert set(re.findall(r"^\| `(GEARMAN_\w+)` \|", readme, re.M)) == set(DEFAULTS)
