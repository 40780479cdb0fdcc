"""Hostile payloads sent through gearmand to a real, signing ``manage.py gearman_worker``.

Every case must come back to the client as a typed error (``JobRefused`` naming the payload
layer's error class) and the same worker process must serve a good job right after it.
"""

from __future__ import annotations

import os
import pickle
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest

from django_gearman.calls import remote_spec
from django_gearman.exceptions import JobRefused
from tests.reliability.conftest import SignedWorker
from tests.reliability.keys import KEY_ID, SECRET
from tests.reliability.support import (
    SIGNED_SETTINGS,
    RogueServer,
    assign_job,
    children_of,
    sign_envelope,
    start_worker_process,
    submit_raw,
    wait_until,
    workers_for,
)

ECHO = "rel.echo"
CALL = b'{"args":[1],"kwargs":{}}'
JSON_HEADER = b"GME/1 ct=application/json kid=" + KEY_ID.encode()
MSGPACK_HEADER = b"GME/1 ct=application/msgpack kid=" + KEY_ID.encode()
PICKLE_HEADER = b"GME/1 ct=application/x-python-pickle kid=" + KEY_ID.encode()


def signed(job: str, body: bytes, header: bytes = JSON_HEADER) -> bytes:
    return sign_envelope(job, header, body, SECRET)


def zlib_bomb(inflated: int) -> bytes:
    """A valid zlib stream of ``inflated`` zero bytes (about a thousandth of that on the wire)."""
    packer = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    parts = [packer.compress(chunk) for _ in range(inflated >> 20)]
    return b"".join([*parts, packer.flush()])


def tampered() -> bytes:
    good = signed(ECHO, CALL)
    return good[:-2] + b"2}"  # same length, one body byte changed after signing


def wrong_key_id() -> bytes:
    header = b"GME/1 ct=application/json kid=rk9"
    return sign_envelope(ECHO, header, CALL, SECRET)


# name -> (job, payload builder, remote error class)
CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "unsigned": (ECHO, lambda: b"GME/1 ct=application/json\n" + CALL, "SignatureMissing"),
    "tampered-body": (ECHO, tampered, "BadSignature"),
    "wrong-key-id": (ECHO, wrong_key_id, "UnknownKey"),
    "replayed-to-other-job": ("rel.other", lambda: signed(ECHO, CALL), "BadSignature"),
    "signature-of-other-secret": (
        ECHO,
        lambda: sign_envelope(ECHO, JSON_HEADER, CALL, "another-secret-entirely"),
        "BadSignature",
    ),
    "unknown-version": (ECHO, lambda: b"GME/2 ct=application/json\n" + CALL, "UnsupportedVersion"),
    "not-an-envelope": (ECHO, lambda: CALL, "MalformedEnvelope"),
    "header-without-newline": (ECHO, lambda: b"GME/1 ct=application/json", "MalformedEnvelope"),
    "header-over-8KiB": (
        ECHO,
        lambda: b"GME/1 ct=application/json x-pad=" + b"a" * 9000 + b"\n" + CALL,
        "PayloadTooLarge",
    ),
    "body-over-16MiB": (
        ECHO,
        lambda: b"GME/1 ct=application/json\n" + b" " * (17 << 20) + CALL,
        "PayloadTooLarge",
    ),
    "unknown-encoding": (
        ECHO,
        lambda: signed(ECHO, CALL, JSON_HEADER.replace(b" kid=", b" enc=gzip kid=")),
        "ContentTypeNotAccepted",
    ),
    "msgpack-to-json-job": (
        ECHO,
        lambda: signed(ECHO, msgpack.packb({"args": [1], "kwargs": {}}), MSGPACK_HEADER),
        "ContentTypeNotAccepted",
    ),
    "zlib-bomb-128MiB": (
        ECHO,
        lambda: signed(
            ECHO, zlib_bomb(128 << 20), JSON_HEADER.replace(b" kid=", b" enc=zlib kid=")
        ),
        "PayloadTooLarge",
    ),
    "zlib-truncated": (
        ECHO,
        lambda: signed(
            ECHO, zlib.compress(CALL)[:-5], JSON_HEADER.replace(b" kid=", b" enc=zlib kid=")
        ),
        "DecodeError",
    ),
    "json-nested-100000": (
        ECHO,
        lambda: signed(ECHO, b'{"args":' + b"[" * 100_000 + b"]" * 100_000 + b',"kwargs":{}}'),
        "DecodeError",
    ),
    "json-invalid-utf8": (
        ECHO,
        lambda: signed(ECHO, b'{"args":["\xff\xfe"],"kwargs":{}}'),
        "DecodeError",
    ),
    "json-truncated": (ECHO, lambda: signed(ECHO, CALL[:-3]), "DecodeError"),
    "msgpack-nested-100000": (
        "rel.echo_msgpack",
        lambda: signed("rel.echo_msgpack", b"\x91" * 100_000 + b"\xc0", MSGPACK_HEADER),
        "DecodeError",
    ),
    "msgpack-truncated-length": (
        "rel.echo_msgpack",
        # a str32 announcing 4 GiB - 1 bytes, followed by three
        lambda: signed(
            "rel.echo_msgpack", b"\x82\xa4args\x91\xdb\xff\xff\xff\xffabc", MSGPACK_HEADER
        ),
        "DecodeError",
    ),
    "call-shape": (ECHO, lambda: signed(ECHO, b'{"args":1}'), "ValidationFailed"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_payload_is_a_typed_error_and_the_worker_keeps_serving(
    case: str, signed_worker: SignedWorker
) -> None:
    job, build, error = CASES[case]
    with pytest.raises(JobRefused) as refused:
        submit_raw(signed_worker.client, job, build())
    assert refused.value.remote_type == f"serializers.errors.{error}", refused.value
    assert signed_worker.client.submit_job("rel.pid") == signed_worker.child


def test_validation_errors_come_back_with_field_paths(signed_worker: SignedWorker) -> None:
    order = {"id": "seven", "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": "x"}]}
    with pytest.raises(JobRefused) as refused:
        signed_worker.client.submit_job("rel.order", order=order, discount=[])
    assert refused.value.remote_type == "serializers.errors.ValidationFailed"
    locations = {detail["loc"] for detail in refused.value.details}
    assert locations == {"kwargs.order.id", "kwargs.order.items.1.quantity", "kwargs.discount"}
    assert signed_worker.client.submit_job("rel.order", order={"id": 7, "items": []}) == 0
    assert signed_worker.client.submit_job("rel.pid") == signed_worker.child


class Canary:
    """Unpickling this creates a directory: a trace that pickle.loads ran in the worker."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.path),))


def canary_payload(path: Path) -> bytes:
    return pickle.dumps(Canary(path))


PICKLE_CASES = {
    "signed-pickle-to-json-job": (ECHO, SECRET, "ContentTypeNotAccepted"),
    "unsigned-pickle-to-json-job": (ECHO, None, "ContentTypeNotAccepted"),
    "unsigned-pickle-to-pickle-job": ("rel.pickled", None, "SignatureMissing"),
    "bad-signature-pickle-to-pickle-job": ("rel.pickled", "wrong-secret", "BadSignature"),
}


@pytest.mark.parametrize("case", list(PICKLE_CASES))
def test_pickle_is_refused_without_being_unpickled(
    case: str, tmp_path: Path, signed_worker: SignedWorker
) -> None:
    job, sign_with, error = PICKLE_CASES[case]
    trace = tmp_path / "unpickled"
    body = canary_payload(trace)
    if sign_with is None:
        payload = b"GME/1 ct=application/x-python-pickle\n" + body
    else:
        payload = sign_envelope(job, PICKLE_HEADER, body, sign_with)
    with pytest.raises(JobRefused) as refused:
        submit_raw(signed_worker.client, job, payload)
    assert refused.value.remote_type == f"serializers.errors.{error}"
    assert not trace.exists(), "the worker unpickled a payload it should have refused"
    assert signed_worker.client.submit_job("rel.pid") == signed_worker.child


def test_canary_control_a_validly_signed_pickle_to_the_pickle_job_is_unpickled(
    tmp_path: Path, signed_worker: SignedWorker
) -> None:
    """The control for the test above: the canary does leave its trace when it is unpickled,
    so "no trace" there means "not unpickled", not "canary broken"."""
    trace = tmp_path / "unpickled"
    payload = sign_envelope("rel.pickled", PICKLE_HEADER, canary_payload(trace), SECRET)
    with pytest.raises(JobRefused) as refused:
        submit_raw(signed_worker.client, "rel.pickled", payload)
    assert refused.value.remote_type == "serializers.errors.ValidationFailed"  # None is no call
    assert trace.is_dir()
    assert signed_worker.client.submit_job("rel.pid") == signed_worker.child


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"GME/2 ct=application/json\n" + CALL, "UnsupportedVersion"),
        (b"GME/1 ct=application/json\n" + CALL, "SignatureMissing"),
        (b"\0" * 64, "MalformedEnvelope"),
    ],
    ids=["unknown-version", "unsigned", "nul-bytes"],
)
def test_hostile_job_assigned_directly_by_a_rogue_server(
    payload: bytes, error: str, signed_worker: SignedWorker, tmp_path: Path
) -> None:
    """No gearmand in between: a rogue "server" hands the worker process a hostile job. The
    worker answers WORK_EXCEPTION with a signed error envelope and keeps serving everyone."""
    replies: list[tuple[str, bytes]] = []
    with RogueServer(assign_job("rel.echo", payload, replies)) as rogue:
        process = start_worker_process(
            [rogue.address, signed_worker.server.address],
            settings=SIGNED_SETTINGS,
            wait_for="rel.pid",
            registered_on=[signed_worker.server.address],
        )
        try:
            wait_until(lambda: bool(replies), 20, "the worker's answer to the rogue job")
            (child,) = children_of(process.pid)
            kind, data = replies[0]
            assert kind == "exception"
            spec = remote_spec("rel.echo", None)
            refused = spec.decode_failure(data)  # verifies the worker's signature
            assert isinstance(refused, JobRefused)
            assert refused.remote_type == f"serializers.errors.{error}"
            assert child in children_of(process.pid)
            assert workers_for(signed_worker.server.address, "rel.pid") == 2  # still registered
        finally:
            process.stop()
