"""A Python client (django_gearman.protocol + serializers) calls jobs of Perl, PHP, Node workers.

The peer workers (interop/*/peer.*) decode the envelope, run the job and reply with an envelope
(WORK_COMPLETE) or an error envelope (WORK_EXCEPTION), signed with the request's key when they have
one. The Python side decodes and checks every reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_gearman.protocol import Client
from serializers import BadSignature, DecodePolicy, SigningKey, decode, encode
from tests.interop.peers import PEER_COMMANDS, background_process, log_tail
from tests.support.gearmand import Gearmand

WORKER_LANGS = ["perl", "php", "node"]
SECRET = b"interop-secret-0123456789"
KEY = SigningKey("k1", SECRET)
TIMEOUT = 30.0

RICH_VALUE: dict[str, Any] = {
    "text": "héllo wörld ✓ 🎉",
    "ints": [0, -1, 127, 128, -33, 65535, -70000, 2**40, -(2**40)],
    "float": 0.25,
    "none": None,
    "flags": [True, False],
    "empty_map": {},
    "empty_list": [],
    "nested": {"a": {"b": [1, {"c": "d"}]}},
}


class PeerWorker:
    """A running peer worker and the Python client that talks to it."""

    def __init__(self, lang: str, client: Client, log: Path) -> None:
        self.lang = lang
        self.prefix = f"interop.{lang}"
        self.client = client
        self.log = log

    def call(
        self, job: str, args: list[Any], kwargs: dict[str, Any] | None = None, **how: Any
    ) -> Any:
        """Submit {"args", "kwargs"} to PREFIX.job; returns the JobResult."""
        function = f"{self.prefix}.{job}"
        payload = encode({"args": args, "kwargs": kwargs or {}}, job=function, **how)
        result = self.client.submit(function, payload, timeout=TIMEOUT)
        assert result.state in ("complete", "exception"), (result, log_tail(self.log))
        return result


def start_worker(
    lang: str, server: Gearmand, tmp_path: Path, keys: dict[str, bytes]
) -> Iterator[PeerWorker]:
    command = [
        *PEER_COMMANDS[lang],
        "worker",
        f"--server={server.address}",
        f"--prefix=interop.{lang}",
        "--seconds=120",
        *(f"--key={kid}={secret.hex()}" for kid, secret in keys.items()),
    ]
    log = tmp_path / f"{lang}-worker.log"
    with background_process(command, log_path=log), Client([server.address]) as client:
        yield PeerWorker(lang, client, log)


@pytest.fixture(params=WORKER_LANGS)
def worker(
    request: pytest.FixtureRequest, gearmand: Gearmand, tmp_path: Path
) -> Iterator[PeerWorker]:
    """An unsigned peer worker (it reads unsigned envelopes and replies unsigned)."""
    yield from start_worker(request.param, gearmand, tmp_path, {})


@pytest.fixture(params=WORKER_LANGS)
def signed_worker(
    request: pytest.FixtureRequest, gearmand: Gearmand, tmp_path: Path
) -> Iterator[PeerWorker]:
    """A peer worker that requires key k1 on requests and signs its replies with it."""
    yield from start_worker(request.param, gearmand, tmp_path, {KEY.key_id: SECRET})


def test_reverse_a_unicode_sentence(worker: PeerWorker) -> None:
    result = worker.call("reverse", ["héllo wörld ✓"])
    assert result.state == "complete"
    assert decode(result.result).value == "✓ dlröw olléh"


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
@pytest.mark.parametrize("compress", [None, "zlib"])
def test_echo_keeps_every_type(worker: PeerWorker, serializer: str, compress: str | None) -> None:
    result = worker.call(
        "echo",
        [RICH_VALUE],
        {"k": RICH_VALUE},
        serializer=serializer,
        compress=compress,
        compress_min_bytes=0,
    )
    decoded = decode(result.result, job=f"{worker.prefix}.echo")
    assert decoded.content_type == f"application/{serializer}"
    assert decoded.value == {"args": [RICH_VALUE], "kwargs": {"k": RICH_VALUE}}


@pytest.mark.parametrize("lang", WORKER_LANGS)
def test_msgpack_bytes_come_back_as_bytes(gearmand: Gearmand, tmp_path: Path, lang: str) -> None:
    """msgpack bin and str stay apart through every peer worker."""
    for worker in start_worker(lang, gearmand, tmp_path, {}):
        blob = bytes(range(256))
        result = worker.call("echo", [blob, "text"], serializer="msgpack")
        assert decode(result.result).value == {"args": [blob, "text"], "kwargs": {}}


def test_numbers_are_added(worker: PeerWorker) -> None:
    result = worker.call("add", [1, 2.5, -4, 10**12])
    assert decode(result.result).value == pytest.approx(10**12 - 0.5)


def test_reply_uses_the_content_type_the_caller_accepts(worker: PeerWorker) -> None:
    result = worker.call("reverse", ["abc"], accept=("application/msgpack",))
    decoded = decode(result.result)
    assert (decoded.content_type, decoded.value) == ("application/msgpack", "cba")


def test_job_error_is_an_error_envelope(worker: PeerWorker) -> None:
    result = worker.call("fail", ["boom"])
    assert result.state == "exception"
    error = decode(result.exception).value["error"]
    assert set(error) >= {"type", "message", "traceback"}
    assert error["type"].startswith(f"interop.{worker.lang}.")
    assert "failed: boom" in error["message"]
    assert isinstance(error["traceback"], str)


def test_a_body_that_is_not_a_call_is_refused_with_an_error_envelope(worker: PeerWorker) -> None:
    function = f"{worker.prefix}.reverse"
    result = worker.client.submit(
        function, encode(["not", "a", "call"], job=function), timeout=TIMEOUT
    )
    assert result.state == "exception" and result.exception is not None
    assert "args" in decode(result.exception).value["error"]["message"]


def test_signed_request_gets_a_signed_reply(signed_worker: PeerWorker) -> None:
    function = f"{signed_worker.prefix}.echo"
    result = signed_worker.call(
        "echo",
        ["signed ✓"],
        signing_key=KEY,
        serializer="msgpack",
        compress="zlib",
        compress_min_bytes=0,
    )
    strict = DecodePolicy(verify_keys={"k1": SECRET}, require_signature=True)
    decoded = decode(result.result, strict, job=function)
    assert decoded.signed and decoded.key_id == "k1"
    assert decoded.value == {"args": ["signed ✓"], "kwargs": {}}


def test_signed_reply_is_bound_to_the_job_name(signed_worker: PeerWorker) -> None:
    result = signed_worker.call("reverse", ["abc"], signing_key=KEY)
    strict = DecodePolicy(verify_keys={"k1": SECRET}, require_signature=True)
    with pytest.raises(BadSignature):
        decode(result.result, strict, job=f"{signed_worker.prefix}.echo")


@pytest.mark.parametrize(
    "tamper",
    ["unsigned", "other job", "wrong secret", "body changed"],
)
def test_signing_worker_refuses_bad_requests(signed_worker: PeerWorker, tamper: str) -> None:
    function = f"{signed_worker.prefix}.reverse"
    call = {"args": ["abc"], "kwargs": {}}
    if tamper == "unsigned":
        payload = encode(call, job=function)
    elif tamper == "other job":
        payload = encode(call, job=f"{signed_worker.prefix}.echo", signing_key=KEY)
    elif tamper == "wrong secret":
        payload = encode(call, job=function, signing_key=SigningKey("k1", b"not-the-secret-at-all"))
    else:
        payload = encode(call, job=function, signing_key=KEY).replace(b'"abc"', b'"abd"')
    result = signed_worker.client.submit(function, payload, timeout=TIMEOUT)
    assert result.state == "exception" and result.exception is not None
    error = decode(result.exception, DecodePolicy(verify_keys={"k1": SECRET}), job=function).value
    expected = "signature-missing" if tamper == "unsigned" else "bad-signature"
    assert expected in error["error"]["message"]
