"""Perl, PHP, Node and shell clients call the example jobs served by `manage.py gearman_worker`.

The worker runs as a subprocess against the test's private gearmand, with the example project's
settings (`gearman_example.settings`), or with signing on (`tests.interop.django_settings`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from django_gearman.protocol import Client, JobResult
from serializers import BadSignature, DecodePolicy, SigningKey, decode, encode
from tests.interop.peers import (
    REPO,
    PeerFailed,
    background_process,
    django_worker_command,
    log_tail,
    peer_client,
)
from tests.support.gearmand import Gearmand

CLIENT_LANGS = ["perl", "php", "node"]
SIGNING_SECRET = b"interop-django-secret-0001"
ORDER = {
    "customer": "ACME",
    "lines": [
        {"sku": "bolt", "quantity": 3, "unit_price": "0.25"},
        {"sku": "nut", "quantity": 10, "unit_price": "0.10"},
    ],
}


class DjangoWorker:
    def __init__(self, server: Gearmand, log: Path) -> None:
        self.server = server
        self.log = log

    def call(self, lang: str, function: str, call: dict[str, Any], **how: Any) -> dict[str, Any]:
        try:
            outcome = peer_client(lang, self.server.address, function, call, **how)
        except PeerFailed as exc:
            raise AssertionError(f"{exc}\nworker log:\n{log_tail(self.log)}") from exc
        assert outcome.get("state") in ("complete", "exception"), (outcome, log_tail(self.log))
        return outcome


def run_django_worker(settings: str, server: Gearmand, tmp_path: Path) -> Iterator[DjangoWorker]:
    log = tmp_path / "django-worker.log"
    command = django_worker_command(settings, server.address)
    with background_process(command, env={"DJANGO_SETTINGS_MODULE": settings}, log_path=log):
        yield DjangoWorker(server, log)


@pytest.fixture
def django_worker(gearmand: Gearmand, tmp_path: Path) -> Iterator[DjangoWorker]:
    yield from run_django_worker("gearman_example.settings", gearmand, tmp_path)


@pytest.fixture
def signing_django_worker(gearmand: Gearmand, tmp_path: Path) -> Iterator[DjangoWorker]:
    yield from run_django_worker("tests.interop.django_settings", gearmand, tmp_path)


def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@pytest.mark.parametrize("lang", CLIENT_LANGS)
def test_client_calls_example_jobs(django_worker: DjangoWorker, lang: str) -> None:
    reversed_ = django_worker.call(lang, "gearman_example.reverse", call("héllo wörld ✓"))
    assert (reversed_["state"], reversed_["value"]) == ("complete", "✓ dlröw olléh")

    quote = django_worker.call(
        lang, "gearman_example.quote_order", call(ORDER, discount_percent=10), zlib=True
    )
    assert quote["state"] == "complete"
    assert quote["value"]["customer"] == "ACME" and quote["value"]["items"] == 13
    assert Decimal(quote["value"]["total"]) == Decimal("1.58")  # (0.75 + 1.00) * 0.9, rounded


@pytest.mark.parametrize("lang", CLIENT_LANGS)
def test_invalid_call_comes_back_as_an_error_envelope(
    django_worker: DjangoWorker, lang: str
) -> None:
    outcome = django_worker.call(lang, "gearman_example.reverse", call(12345))
    assert outcome["state"] == "exception"
    error = outcome["value"]["error"]
    assert error["type"] == "serializers.errors.ValidationFailed"
    assert "args.0" in error["message"] and isinstance(error["traceback"], str)


@pytest.mark.parametrize("lang", CLIENT_LANGS)
def test_signed_call_to_a_signing_worker(signing_django_worker: DjangoWorker, lang: str) -> None:
    key = ("k1", SIGNING_SECRET)
    outcome = signing_django_worker.call(lang, "gearman_example.reverse", call("signed"), key=key)
    assert (outcome["state"], outcome["value"], outcome["kid"]) == ("complete", "dengis", "k1")

    unsigned = signing_django_worker.call(
        lang, "gearman_example.reverse", call("unsigned"), verify_key=key
    )
    assert unsigned["state"] == "exception"
    assert unsigned["value"]["error"]["type"] == "serializers.errors.SignatureMissing"

    wrong = ("k1", b"not-the-right-secret-000")
    forged = signing_django_worker.call(
        lang, "gearman_example.reverse", call("forged"), key=wrong, verify_key=key
    )
    assert forged["state"] == "exception"
    assert forged["value"]["error"]["type"] == "serializers.errors.BadSignature"


SHELL_SCRIPT = REPO / "interop" / "shell" / "gearman-submit.sh"


def shell_submit(
    server: Gearmand, function: str, call_json: str, timeout_ms: int
) -> subprocess.CompletedProcess[bytes]:
    host, port = server.address.split(":")
    return subprocess.run(
        [str(SHELL_SCRIPT), host, port, function, call_json],
        capture_output=True,
        timeout=timeout_ms / 1000 + 20,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "GEARMAN_TIMEOUT_MS": str(timeout_ms)},
        check=False,
    )


def test_gearman_command_line_tool_calls_a_django_job(django_worker: DjangoWorker) -> None:
    """The shell example of docs/interop.md: a hand-written JSON envelope, the C `gearman` tool."""
    sentence = json.dumps({"args": ["hello from the shell"], "kwargs": {}})
    done = shell_submit(django_worker.server, "gearman_example.reverse", sentence, 20000)
    assert done.returncode == 0, (done.stderr, log_tail(django_worker.log))
    reply = decode(done.stdout, DecodePolicy(), job="gearman_example.reverse")
    assert reply.value == "llehs eht morf olleh"


@pytest.fixture
def prefixed_django_worker(gearmand: Gearmand, tmp_path: Path) -> Iterator[DjangoWorker]:
    yield from run_django_worker("tests.interop.django_prefixed_settings", gearmand, tmp_path)


def submit_raw(server: Gearmand, function: str, payload: bytes) -> JobResult:
    with Client([server.address]) as transport:
        return transport.submit(function, payload, timeout=30)


def error_of(result: JobResult, job: str, policy: DecodePolicy | None = None) -> dict[str, Any]:
    assert result.state == "exception" and result.exception is not None, result
    decoded = decode(result.exception, policy or DecodePolicy(), job=job)
    assert decoded.content_type == "application/json"  # error envelopes are always JSON
    return dict(decoded.value["error"])


def test_the_signed_name_is_the_gearman_function_name_after_mapping(
    prefixed_django_worker: DjangoWorker,
) -> None:
    """With GEARMAN_JOB_NAME = "shop.{name}" the job gearman_example.reverse is the Gearman
    function shop.gearman_example.reverse, and that is the name signed (docs/envelope.md)."""
    function = "shop.gearman_example.reverse"
    key = SigningKey("k1", SIGNING_SECRET)
    verify = DecodePolicy(verify_keys={"k1": SIGNING_SECRET}, require_signature=True)
    server = prefixed_django_worker.server
    signed = encode(call("mapped"), job=function, signing_key=key)
    result = submit_raw(server, function, signed)
    assert result.result is not None, log_tail(prefixed_django_worker.log)
    assert decode(result.result, verify, job=function).value == "deppam"
    with pytest.raises(BadSignature):  # the reply is bound to the mapped name as well
        decode(result.result, verify, job="gearman_example.reverse")
    unmapped = encode(call("unmapped"), job="gearman_example.reverse", signing_key=key)
    error = error_of(submit_raw(server, function, unmapped), function, verify)
    assert (error["type"], error["refused"]) == ("serializers.errors.BadSignature", True)


def test_a_job_reads_only_its_own_content_types(django_worker: DjangoWorker) -> None:
    """A job declared with json (the default) refuses a msgpack call: a job reads its
    serializer's type and the types of its `accept=`, not DecodePolicy's json-and-msgpack."""
    function = "gearman_example.reverse"
    payload = encode(call("abc"), "msgpack", job=function)
    error = error_of(submit_raw(django_worker.server, function, payload), function)
    assert (error["type"], error["refused"]) == ("serializers.errors.ContentTypeNotAccepted", True)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ((), "application/json"),  # no list: the job's own result type
        (("application/msgpack", "application/json"), "application/json"),  # own type listed
        (("application/msgpack",), "application/msgpack"),  # else the first it writes
        (("text/x-unknown", "application/msgpack"), "application/msgpack"),
    ],
)
def test_reply_content_type_rule(
    django_worker: DjangoWorker, accept: tuple[str, ...], expected: str
) -> None:
    function = "gearman_example.reverse"
    result = submit_raw(django_worker.server, function, encode(call("ab"), accept=accept))
    assert result.result is not None, result
    decoded = decode(result.result, job=function)
    assert (decoded.content_type, decoded.value) == (expected, "ba")


def test_a_caller_accepting_nothing_the_job_writes_is_refused(django_worker: DjangoWorker) -> None:
    function = "gearman_example.reverse"
    payload = encode(call("ab"), accept=["text/x-unknown"])
    error = error_of(submit_raw(django_worker.server, function, payload), function)
    assert error["type"].endswith(".NotNegotiable") and error["refused"] is True, error
