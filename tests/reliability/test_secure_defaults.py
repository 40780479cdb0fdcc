"""Secure defaults: pickle off unless declared, signatures required for pickle, constant-time
signature checks, secrets never logged, size limits on without any setting."""

from __future__ import annotations

import hmac
import logging
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from django_gearman import GearmanClient
from django_gearman.calls import JobError, execute, job_spec
from django_gearman.checks import check_jobs
from django_gearman.conf import get_settings, read_settings
from django_gearman.declaration import GearmanJob, JobRegistry
from django_gearman.exceptions import JobRefused
from django_gearman.protocol import Client, PacketParser, Worker
from serializers import (
    BadSignature,
    DecodePolicy,
    PayloadTooLarge,
    SignatureMissing,
    decode,
)
from serializers.envelope import DEFAULT_ACCEPT
from tests.reliability.conftest import SignedWorker
from tests.reliability.keys import SECRET, SIGNING_KEYS
from tests.reliability.support import (
    RogueServer,
    WorkerProcess,
    close_at_once,
    sign_envelope,
    submit_raw,
)
from tests.reliability.test_hostile_worker import CALL, JSON_HEADER, canary_payload
from tests.support.gearmand import Gearmand

PICKLE = "application/x-python-pickle"
MIB = 1024 * 1024


def plain(value: Any) -> Any:
    return value


def unregistered(name: str, **options: Any) -> GearmanJob[Any, Any]:
    """A job object that is never added to the global registry (other tests check it)."""
    return GearmanJob(func=plain, name=name, **options)


def test_pickle_is_off_unless_a_job_declares_it() -> None:
    assert PICKLE not in DEFAULT_ACCEPT
    assert PICKLE not in DecodePolicy().accept
    assert read_settings().default_serializer == "json"
    assert PICKLE not in job_spec(unregistered("rel.sd.default")).request_policy.accept
    declared = job_spec(unregistered("rel.sd.pickled", serializer="pickle"))
    assert PICKLE in declared.request_policy.accept


def test_pickle_needs_a_signature_by_default(tmp_path: Path) -> None:
    trace = tmp_path / "unpickled"
    blob = b"GME/1 ct=" + PICKLE.encode() + b"\n" + canary_payload(trace)
    with pytest.raises(SignatureMissing):
        decode(blob, DecodePolicy(accept={PICKLE}))
    assert not trace.exists()
    # and a project that declares a pickle job without signing keys fails its system check
    jobs = JobRegistry()
    jobs.add(unregistered("rel.sd.pickled", serializer="pickle"))
    assert "django_gearman.E003" in {message.id for message in check_jobs(jobs, read_settings())}


def test_default_worker_refuses_pickle_without_unpickling(
    tmp_path: Path,
    gearmand: Gearmand,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    """A worker with the default settings (no signing, no pickle job) and a pickle payload."""
    worker_process([gearmand.address])
    gearman = client([gearmand.address])
    trace = tmp_path / "unpickled"
    with pytest.raises(JobRefused) as refused:
        submit_raw(gearman, "rel.ping", b"GME/1 ct=" + PICKLE.encode() + b"\n" + pickle.dumps(1))
    assert refused.value.remote_type == "serializers.errors.ContentTypeNotAccepted"
    with pytest.raises(JobRefused):
        submit_raw(
            gearman, "rel.ping", b"GME/1 ct=" + PICKLE.encode() + b"\n" + canary_payload(trace)
        )
    assert not trace.exists()
    assert isinstance(gearman.submit_job("rel.ping"), int)


class CompareSpy:
    """Wraps ``hmac.compare_digest``: records calls; can force an answer."""

    def __init__(self, answer: bool | None = None) -> None:
        self.calls = 0
        self.answer = answer
        self.real = hmac.compare_digest

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls += 1
        real = self.real(a, b)
        return real if self.answer is None else self.answer


@override_settings(GEARMAN_SIGNING_KEYS=SIGNING_KEYS)
def test_signatures_are_compared_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's code path (``runtime.execute``) verifies with compare_digest, and its
    answer alone decides: forced False, a valid signature is refused."""
    spec = job_spec(unregistered("rel.echo"))
    good = sign_envelope("rel.echo", JSON_HEADER, CALL, SECRET)
    spy = CompareSpy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert decode(execute(spec, good, handle="h"), spec.result_policy, job="rel.echo").value == 1
    assert spy.calls >= 1  # the call, and the result envelope read back
    before = spy.calls
    with pytest.raises(JobError):
        execute(spec, good[:-2] + b"2}", handle="h")
    assert spy.calls == before + 1
    monkeypatch.setattr(hmac, "compare_digest", CompareSpy(answer=False))
    with pytest.raises(BadSignature):
        decode(good, spec.request_policy, job="rel.echo")


def secret_forms() -> list[bytes]:
    """The secret as it could leak: raw, repr'd, hex-encoded."""
    raw = SECRET.encode()
    return [raw, repr(SECRET).encode(), raw.hex().encode()]


def test_secrets_never_logged_by_worker_or_client(
    signed_worker: SignedWorker, caplog: pytest.LogCaptureFixture
) -> None:
    client = signed_worker.client
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        assert client.submit_job("rel.echo", {"a": 1}) == {"a": 1}
        bad_payloads = [
            sign_envelope("rel.echo", JSON_HEADER, CALL, "not-the-secret"),
            sign_envelope("rel.echo", b"GME/1 ct=application/json kid=nope", CALL, SECRET),
            b"GME/1 ct=application/json\n" + CALL,
        ]
        for payload in bad_payloads:
            with pytest.raises(JobRefused) as refused:
                submit_raw(client, "rel.echo", payload)
            messages += [str(refused.value), refused.value.remote_traceback]
        with pytest.raises(JobRefused) as invalid:
            client.submit_job("rel.order", order={"id": "x", "items": []})
        messages += [
            str(invalid.value),
            invalid.value.remote_traceback,
            repr(invalid.value.details),
        ]
        messages += [repr(get_settings()), repr(job_spec(unregistered("rel.echo")))]
    worker_log = signed_worker.process.output()
    assert "job=rel.echo" in worker_log, "the worker's log was captured"
    texts = {"worker log": worker_log, "client log": caplog.text, "errors": "\n".join(messages)}
    for where, text in texts.items():
        for form in secret_forms():
            assert form.decode() not in text, f"the signing secret appears in the {where}"


def test_size_limits_are_on_by_default() -> None:
    policy = DecodePolicy()
    # One set of defaults for the payload layer and the Django settings (docs/envelope.md, Limits).
    assert (policy.max_header_bytes, policy.max_body_bytes) == (8 * 1024, 16 * MIB)
    assert policy.max_decoded_bytes == 64 * MIB
    current = read_settings()
    assert (current.max_payload_size, current.max_decompressed_size) == (16 * MIB, 64 * MIB)
    spec = job_spec(unregistered("rel.sd.limits"))
    assert spec.request_policy.max_body_bytes == 16 * MIB
    assert spec.request_policy.max_decoded_bytes == 64 * MIB
    assert PacketParser().max_packet == 64 * MIB
    assert Client("127.0.0.1:1").max_packet == 64 * MIB
    worker = Worker("127.0.0.1:1")
    assert worker.max_packet == 64 * MIB
    worker.close()


def test_client_refuses_an_oversized_call_before_connecting() -> None:
    with RogueServer(close_at_once) as rogue, GearmanClient([rogue.address]) as gearman:
        with pytest.raises(PayloadTooLarge):
            gearman.submit_job("rel.echo", "x" * (17 * MIB))
        assert rogue.connections == 0
