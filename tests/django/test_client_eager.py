"""Every call form, reserved keywords, typed validation, failures, negotiation, progress and
signing, through eager mode: the worker's code path run in-process (no server needed)."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from django_gearman import (
    RESERVED_KEYWORDS,
    GearmanClient,
    JobFailed,
    ReservedKeywordConflict,
    Task,
    current_job,
    progress,
)
from django_gearman.calls import JobError, execute, job_spec, remote_spec
from django_gearman.exceptions import JobNotFound, JobRefused
from serializers import PayloadTooLarge, ValidationFailed, encode
from serializers.envelope import read_header
from tests.django.jobs_app import gearman_jobs as jobs
from tests.django.support import check_progress_reports

pytestmark = pytest.mark.usefixtures("eager")

ECHO = "tests.django.jobs_app.echo"
ADD = "tests.django.jobs_app.add"
RESERVED = "tests.django.jobs_app.reserved_params"


@pytest.fixture
def client() -> GearmanClient:
    return GearmanClient()


def test_reserved_keywords_are_the_documented_set() -> None:
    documented = "data unique priority background wait_until_complete max_retries poll_timeout"
    assert frozenset(documented.split()) == RESERVED_KEYWORDS


@pytest.mark.parametrize("payload", [{"a": 1}, [1, "two"], "text", 7, None, True])
def test_one_positional_payload_is_the_single_argument(client: GearmanClient, payload: Any) -> None:
    assert client.submit_job(ECHO, payload) == payload


def test_payload_as_data_keyword(client: GearmanClient) -> None:
    assert client.submit_job(ECHO, data={"b": 2}) == {"b": 2}


def test_decimal_payload_reaches_a_decimal_parameter(client: GearmanClient) -> None:
    assert client.submit_job("tests.django.jobs_app.decimal_double", Decimal("1.25")) == Decimal(
        "2.50"
    )


def test_job_keywords(client: GearmanClient) -> None:
    assert client.submit_job(ADD, one=1, two=2) == 3


def test_args_list(client: GearmanClient) -> None:
    assert client.submit_job(ADD, args=[1, 2, 3]) == 6


def test_kwargs_dict(client: GearmanClient) -> None:
    assert client.submit_job(ADD, kwargs={"one": 1, "two": 2, "three": 3}) == 6


def test_args_kwargs_and_keywords_combine(client: GearmanClient) -> None:
    assert client.submit_job(ADD, args=[1], kwargs={"two": 2}, three=4) == 7


def test_variadic_untyped_job(client: GearmanClient) -> None:
    assert client.submit_job("tests.django.jobs_app.untyped_join", args=["a", 1], sep="+") == "a+1"


def test_reserved_names_through_kwargs_reach_the_job(client: GearmanClient) -> None:
    assert client.submit_job(RESERVED, kwargs={"background": True, "unique": False}) == [
        True,
        False,
    ]


def test_reserved_names_through_args_reach_the_job(client: GearmanClient) -> None:
    assert client.submit_job(RESERVED, args=[True, False]) == [True, False]


def test_bare_reserved_plus_kwargs_is_safe(client: GearmanClient) -> None:
    """The 0.2 README's "final stride": bare options go to Gearman, kwargs to the job."""
    handle = client.submit_job(
        RESERVED, background=True, unique=True, kwargs={"background": False, "unique": False}
    )
    assert handle.startswith("eager:")


def test_bare_reserved_keyword_naming_a_parameter_is_refused(client: GearmanClient) -> None:
    with pytest.raises(ReservedKeywordConflict) as caught:
        client.submit_job(RESERVED, background=True, unique=True)
    error = caught.value
    assert error.names == ["background", "unique"]
    assert "kwargs={'background': True, 'unique': True}" in str(error)
    assert isinstance(error, TypeError)


def test_data_keyword_reaching_a_data_parameter_is_no_conflict(client: GearmanClient) -> None:
    assert client.submit_job("tests.django.jobs_app.with_data_param", data={"a": 1, "b": 2}) == 3


def test_several_positionals_are_refused_with_a_hint(client: GearmanClient) -> None:
    with pytest.raises(TypeError, match=r"args=\[\.\.\.\]"):
        client.submit_job(ADD, 1, 2, 3)


@pytest.mark.parametrize(
    "call",
    [
        {"args": [1], "data": 1},
        {"kwargs": {"one": 1}, "one": 2},
        {"args": "12"},
        {"kwargs": [("one", 1)]},
    ],
)
def test_ambiguous_or_malformed_call_forms_are_type_errors(
    client: GearmanClient, call: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        client.submit_job(ADD, **call)


def test_do_task_and_dispatch_background_task(client: GearmanClient) -> None:
    assert client.do_task(Task("gearman_example.reverse", "abc")) == "cba"
    handle = client.dispatch_background_task("gearman_example.background_counting", None)
    assert handle.startswith("eager:")


def test_typed_api_submit_and_dispatch() -> None:
    assert jobs.add.submit(2, two=5) == 7
    assert jobs.add.dispatch(1, 1).startswith("eager:")


def test_pydantic_arguments_are_coerced_and_results_rebuilt() -> None:
    moved = jobs.shift.submit({"x": 1, "y": "2"}, by=10)  # type: ignore[arg-type]  # coerced
    assert moved == jobs.Point(x=11, y=12)
    assert isinstance(moved, jobs.Point)


def test_bad_arguments_name_the_parameter_and_nothing_runs(client: GearmanClient) -> None:
    with pytest.raises(ValidationFailed) as caught:
        client.submit_job(ADD, one="x", two=2)
    assert caught.value.errors[0]["loc"] == "kwargs.one"
    with pytest.raises(ValidationFailed, match=r"args\.0\.y"):
        jobs.shift.submit({"x": 1})  # type: ignore[arg-type]  # refused: that is the test
    with pytest.raises(ValidationFailed, match="missing required argument 'two'"):
        client.submit_job(ADD, one=1)


def test_validation_happens_before_anything_is_sent() -> None:
    """A closed port would give NoServerAvailable; a bad call must fail before connecting."""
    with (
        override_settings(GEARMAN_EAGER=False, GEARMAN_SERVERS=["127.0.0.1:9"]),
        pytest.raises(ValidationFailed),
    ):
        jobs.add.submit("nope", 2)  # type: ignore[arg-type]


def test_result_is_validated_against_the_return_annotation() -> None:
    with pytest.raises(ValidationFailed, match="result"):
        jobs.wrong_result.submit()


def test_job_exception_becomes_job_failed_with_remote_details() -> None:
    with pytest.raises(JobFailed) as caught:
        jobs.explode.submit("the reactor is on fire")
    error = caught.value
    assert not isinstance(error, JobRefused)
    assert error.remote_type == "tests.django.jobs_app.gearman_jobs.Boom"
    assert error.remote_message == "the reactor is on fire"
    assert error.remote_traceback == ""  # GEARMAN_SEND_TRACEBACKS is off by default
    assert error.job_name == "tests.django.jobs_app.explode"


@override_settings(GEARMAN_SEND_TRACEBACKS=True)
def test_job_exception_carries_its_traceback_when_the_setting_says_so() -> None:
    with pytest.raises(JobFailed) as caught:
        jobs.explode.submit("the reactor is on fire")
    assert "raise Boom(message)" in caught.value.remote_traceback


def test_unknown_job_is_refused_in_eager_mode(client: GearmanClient) -> None:
    with pytest.raises(JobNotFound, match=r"no job 'other\.project\.job' in this project"):
        client.submit_job("other.project.job", 1)


@override_settings(GEARMAN_REMOTE_JOBS=["other.project.*"])
def test_a_remote_job_cannot_run_in_eager_mode(client: GearmanClient) -> None:
    with pytest.raises(JobNotFound, match="eager mode runs only the jobs defined"):
        client.submit_job("other.project.job", 1)


def _call_payload(job: Any, serializer: str, accept: tuple[str, ...] = ()) -> bytes:
    spec = job_spec(job)
    return encode({"args": [{"k": 1}], "kwargs": {}}, serializer, job=spec.wire_name, accept=accept)


def test_worker_refuses_a_content_type_the_job_does_not_accept() -> None:
    spec = job_spec(jobs.msgpack_only)
    with pytest.raises(JobError) as caught:
        execute(spec, _call_payload(jobs.msgpack_only, "json"), handle="t")
    assert caught.value.refused
    failure = spec.decode_failure(caught.value.data)
    assert isinstance(failure, JobRefused)
    assert failure.remote_type == "serializers.errors.ContentTypeNotAccepted"


def test_client_side_serializer_override_is_refused_by_the_job(client: GearmanClient) -> None:
    with pytest.raises(JobRefused, match="ContentTypeNotAccepted"):
        client.do_task(Task("tests.django.jobs_app.msgpack_only", 1, serializer="json"))


def test_extra_accepted_content_type_during_a_migration(client: GearmanClient) -> None:
    name = "tests.django.jobs_app.msgpack_accepting_json"
    assert client.do_task(Task(name, {"k": 1}, serializer="json")) == {"k": 1}


def test_result_in_the_jobs_serializer_when_the_caller_reads_it() -> None:
    spec = job_spec(jobs.msgpack_accepting_json)
    payload = _call_payload(jobs.msgpack_accepting_json, "json", ("application/msgpack",))
    assert read_header(execute(spec, payload, handle="t")).content_type == "application/msgpack"


def test_result_falls_back_to_what_the_caller_accepts() -> None:
    spec = job_spec(jobs.msgpack_accepting_json)
    payload = _call_payload(jobs.msgpack_accepting_json, "json", ("application/json",))
    assert read_header(execute(spec, payload, handle="t")).content_type == "application/json"


def test_result_no_shared_content_type_is_a_refusal() -> None:
    spec = job_spec(jobs.msgpack_accepting_json)
    payload = _call_payload(jobs.msgpack_accepting_json, "json", ("text/csv",))
    with pytest.raises(JobError) as caught:
        execute(spec, payload, handle="t")
    assert spec.decode_failure(caught.value.data).remote_type.endswith("NotNegotiable")


def test_bytes_result_in_msgpack(client: GearmanClient) -> None:
    assert jobs.bytes_result.submit(3) == b"\x00\x00\x00"


def test_progress_is_delivered_to_callbacks_in_eager_mode() -> None:
    check_progress_reports(3)


def test_progress_outside_a_job_is_a_no_op() -> None:
    progress(1, 2)
    current_job().warning("nobody listens")
    assert current_job().events == []
    assert jobs.report_progress(2) == 2  # the plain function call works too


def test_progress_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        progress(-1, 3)


def test_signed_round_trip_and_rotation() -> None:
    keys = {"old": "an-old-secret-0123456789", "new": "a-new-secret-0123456789"}
    with override_settings(GEARMAN_SIGNING_KEYS=keys, GEARMAN_SIGNING_KEY_ID="new"):
        spec = job_spec(jobs.add)
        payload = spec.encode_call([1, 2], {})
        assert b" kid=new sig=" in payload.split(b"\n", 1)[0]
        assert jobs.add.submit(1, 2) == 3
        old_spec_payload = encode(
            {"args": [1, 2], "kwargs": {}},
            "json",
            job=spec.wire_name,
            signing_key=__import__("serializers").SigningKey("old", keys["old"].encode()),
        )
        assert spec.decode_result(execute(spec, old_spec_payload, handle="t")) == 3


def test_tampered_or_unsigned_payloads_are_refused_when_keys_are_set() -> None:
    with override_settings(GEARMAN_SIGNING_KEYS={"k": "0123456789abcdef-secret"}):
        spec = job_spec(jobs.add)
        payload = spec.encode_call([1, 2], {})
        tampered = payload.replace(b"[1,2]", b"[1,3]")
        unsigned = encode({"args": [1, 2], "kwargs": {}}, "json", job=spec.wire_name)
        for bad, expected in ((tampered, "BadSignature"), (unsigned, "SignatureMissing")):
            with pytest.raises(JobError) as caught:
                execute(spec, bad, handle="t")
            assert spec.decode_failure(caught.value.data).remote_type.endswith(expected)


def test_signature_binds_the_namespaced_wire_name() -> None:
    with override_settings(
        GEARMAN_SIGNING_KEYS={"k": "0123456789abcdef-secret"}, GEARMAN_JOB_NAME="shop.{name}"
    ):
        spec = job_spec(jobs.add)
        assert spec.wire_name == "shop.tests.django.jobs_app.add"
        assert jobs.add.submit(1, 1) == 2
        other = job_spec(jobs.echo)
        replayed = spec.encode_call([1, 2], {})
        with pytest.raises(JobError) as caught:
            execute(other, replayed, handle="t")
        assert other.decode_failure(caught.value.data).remote_type.endswith("BadSignature")


def test_oversized_payload_is_refused_before_sending() -> None:
    with (
        override_settings(GEARMAN_MAX_PAYLOAD_SIZE=200),
        pytest.raises(PayloadTooLarge, match="GEARMAN_MAX_PAYLOAD_SIZE"),
    ):
        jobs.echo.submit("x" * 1000)


def test_compression_above_the_threshold_round_trips() -> None:
    with override_settings(GEARMAN_COMPRESS_MIN_SIZE=64):
        payload = job_spec(jobs.echo).encode_call(["y" * 5000], {})
        assert b" enc=zlib" in payload.split(b"\n", 1)[0]
        assert len(payload) < 1000
        assert jobs.echo.submit("y" * 5000) == "y" * 5000


def test_remote_spec_uses_the_requested_serializer() -> None:
    spec = remote_spec("php.resize", "msgpack")
    assert spec.schema is None and spec.func is None
    assert read_header(spec.encode_call([1], {})).content_type == "application/msgpack"


def test_eager_per_call_and_per_client_without_settings() -> None:
    with override_settings(GEARMAN_EAGER=False, GEARMAN_SERVERS=["127.0.0.1:9"]):
        assert jobs.add.using(eager=True).submit(1, 2) == 3
        assert GearmanClient(eager=True).submit_job(ADD, one=2, two=2) == 4


def test_unique_keys_fit_gearmand_and_background_jobs_never_share_one() -> None:
    from django_gearman.protocol import MAX_UNIQUE_SIZE
    from django_gearman.unique import unique_id

    def key(unique: object, payload: bytes = b"x", background: bool = False) -> str | None:
        return unique_id(unique, background=background, wire_name="f", payload=payload)  # type: ignore[arg-type]

    derived = key(True)
    assert derived == key(True, background=True)
    assert derived != key(True, b"y")
    assert derived is not None and len(derived) <= MAX_UNIQUE_SIZE
    assert key("mine") == "mine"
    assert key(None) is None
    first, second = (key(False, background=True) for _ in range(2))
    assert first and second and first != second
    with pytest.raises(ValueError, match="63 bytes"):
        key("u" * 64)
    with pytest.raises(TypeError):
        key(3)


def test_random_unique_ids_differ_across_threads_and_forked_processes() -> None:
    """Background ids are a per-process random prefix plus a counter: distinct in every thread,
    and a forked child draws a prefix of its own instead of repeating its parent's ids."""
    from concurrent.futures import ThreadPoolExecutor

    from django_gearman.protocol import MAX_UNIQUE_SIZE
    from django_gearman.unique import unique_id

    def some(count: int) -> list[str]:
        return [
            unique_id(None, background=True, wire_name="f", payload=b"") or "" for _ in range(count)
        ]

    with ThreadPoolExecutor(4) as pool:
        ids = [key for keys in pool.map(some, [2000] * 8) for key in keys]
    assert len(set(ids)) == len(ids) == 16000
    assert all(0 < len(key.encode()) <= MAX_UNIQUE_SIZE and "\0" not in key for key in ids)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.write(writer, " ".join(some(3)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        child_ids = pipe.read().split()
    os.waitpid(child, 0)
    parent_ids = some(3)
    assert len(child_ids) == 3 and not set(child_ids) & set(ids + parent_ids)
    prefix = parent_ids[0].rpartition("-")[0]
    assert all(key.rpartition("-")[0] == prefix for key in ids + parent_ids)
    assert child_ids[0].rpartition("-")[0] != prefix


@pytest.mark.parametrize("serializer", ["json", "msgpack", "pickle"])
def test_encoded_call_bytes_are_those_of_the_plain_wire_form(serializer: str) -> None:
    """json and msgpack write the validated call without copying it (models dumped in one
    pass): the bytes are those of ``Call.to_wire``, which any other serializer still gets."""
    from serializers import Call

    spec = job_spec(jobs.shift, serializer)
    assert spec.plain_request is (serializer != "pickle")
    assert spec.schema is not None
    for args, kwargs in (([jobs.Point(x=1, y=2)], {"by": 3}), ([{"x": "4", "y": 5}], {})):
        wire = spec.schema.call.validate(Call(tuple(args), kwargs)).to_wire()
        expected = encode(wire, spec.request_serializer, accept=spec.accept_header)
        assert spec.encode_call(args, kwargs) == expected


def test_unenveloped_job_takes_a_bare_payload_as_its_one_argument() -> None:
    spec = job_spec(jobs.shout)
    assert execute(spec, b"hello", handle="t") == b"HELLO"
    assert jobs.shout.submit("quiet") == "QUIET"  # enveloped callers still work


def test_bare_payload_is_refused_without_the_opt_in() -> None:
    spec = job_spec(jobs.echo)
    with pytest.raises(JobError) as caught:
        execute(spec, b"hello", handle="t")
    assert spec.decode_failure(caught.value.data).remote_type.endswith("MalformedEnvelope")


def test_do_tasks_returns_results_in_order_and_can_collect_errors(client: GearmanClient) -> None:
    tasks = [
        Task("gearman_example.reverse", "abc"),
        Task(ADD, args=[1, 2]),
        Task("tests.django.jobs_app.explode", "bad"),
    ]
    results = client.do_tasks(tasks, return_exceptions=True)
    assert results[:2] == ["cba", 3]
    assert isinstance(results[2], JobFailed)
    with pytest.raises(JobFailed):
        client.do_tasks(tasks)


def test_do_tasks_validates_every_call_before_running_any(client: GearmanClient) -> None:
    marker_job = Task("tests.django.jobs_app.explode", "must not run")
    with pytest.raises(ValidationFailed):
        client.do_tasks([marker_job, Task(ADD, kwargs={"one": "x", "two": 1})])


def test_asyncio_api_in_eager_mode() -> None:
    import asyncio

    async def main() -> tuple[int, str]:
        return await jobs.add.asubmit(2, 3), await jobs.add.adispatch(1, 1)

    total, handle = asyncio.run(main())
    assert total == 5 and handle.startswith("eager:")


def test_error_texts_are_bounded_and_unprintable_messages_survive() -> None:
    from django_gearman.calls import MAX_ERROR_MESSAGE, MAX_TRACEBACK

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    spec = job_spec(jobs.echo)
    for exc in (ValueError("m" * (MAX_ERROR_MESSAGE * 2)), Unprintable()):
        failure = spec.decode_failure(spec.error_envelope(exc, refused=False))
        assert len(failure.remote_message) <= MAX_ERROR_MESSAGE + 100
        assert len(failure.remote_traceback) <= MAX_TRACEBACK + 100
    assert (
        "unprintable"
        in spec.decode_failure(spec.error_envelope(Unprintable(), refused=False)).remote_message
    )
