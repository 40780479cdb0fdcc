"""Django's GearmanClient calls jobs served by Perl, PHP and Node workers, by name.

The jobs are not Django jobs, so the client knows them only by name (the default serializer,
GEARMAN_SIGNING_KEYS from the settings). Their error envelopes become JobFailed with the peer's
own type name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_gearman.client import GearmanClient
from django_gearman.exceptions import JobFailed, JobRefused
from django_gearman.protocol import Client
from serializers import DecodeError, EncodeError, decode, encode
from tests.interop.peers import background_process
from tests.interop.test_peer_workers import WORKER_LANGS, PeerWorker, start_worker
from tests.support.gearmand import Gearmand

SECRET = b"django-client-interop-secret-01"


@pytest.fixture(params=WORKER_LANGS)
def peer(
    request: pytest.FixtureRequest, gearmand: Gearmand, tmp_path: Path
) -> Iterator[PeerWorker]:
    yield from start_worker(request.param, gearmand, tmp_path, {})


@pytest.fixture
def client(gearmand: Gearmand) -> Iterator[GearmanClient]:
    with GearmanClient(servers=[gearmand.address], timeout=30) as gearman_client:
        yield gearman_client


def test_call_forms_reach_the_peer(peer: PeerWorker, client: GearmanClient) -> None:
    prefix = peer.prefix
    assert client.submit_job(f"{prefix}.reverse", "héllo ✓") == "✓ olléh"
    assert client.submit_job(f"{prefix}.add", args=[1, 2, 3.5]) == 6.5
    echoed = client.submit_job(
        f"{prefix}.echo", args=[{"n": None}], kwargs={"flags": [True, False]}
    )
    assert echoed == {"args": [{"n": None}], "kwargs": {"flags": [True, False]}}


def test_peer_error_becomes_job_failed(peer: PeerWorker, client: GearmanClient) -> None:
    with pytest.raises(JobFailed) as failed:
        client.submit_job(f"{peer.prefix}.fail", "boom")
    assert not isinstance(failed.value, JobRefused)  # the job ran and raised
    assert failed.value.remote_type.startswith(f"interop.{peer.lang}.")
    assert "failed: boom" in failed.value.remote_message


@pytest.mark.parametrize("lang", WORKER_LANGS)
def test_signed_calls_with_the_signing_settings(
    lang: str, gearmand: Gearmand, tmp_path: Path, settings: Any
) -> None:
    """GEARMAN_SIGNING_KEYS signs the call for the job name; the peer verifies it and signs its
    reply, which the client requires (signing keys configured) and verifies. A call signed with a
    key the peer does not hold is refused, and the refusal itself arrives signed and verified."""
    settings.GEARMAN_SIGNING_KEYS = {"k1": SECRET, "k2": b"a-key-the-peer-does-not-hold"}
    settings.GEARMAN_SIGNING_KEY_ID = "k1"
    for worker in start_worker(lang, gearmand, tmp_path, {"k1": SECRET}):
        with GearmanClient(servers=[gearmand.address], timeout=30) as signed_client:
            assert signed_client.submit_job(f"{worker.prefix}.reverse", "signed") == "dengis"
        settings.GEARMAN_SIGNING_KEY_ID = "k2"
        with (
            GearmanClient(servers=[gearmand.address], timeout=30) as other_key_client,
            pytest.raises(JobRefused) as refused,  # "refused": true in the peer's error
        ):
            other_key_client.submit_job(f"{worker.prefix}.reverse", "other key")
        assert refused.value.remote_type.startswith(f"interop.{lang}.")
        assert "unknown-key" in refused.value.remote_message


def test_big_integers_from_a_peer_arrive_exactly_or_as_a_typed_error(
    peer: PeerWorker, client: GearmanClient
) -> None:
    """2**62 arrives as that int from every peer. 2**64 is beyond the JSON integer range: Perl
    (Math::BigInt) and Node (BigInt) refuse to write it, so the job fails naming the reason;
    PHP's `**` overflows to a float, which arrives as that float, not as rounded digits."""
    exact = client.submit_job(f"{peer.prefix}.power", args=[2, 62])
    assert exact == 2**62 and type(exact) is int
    if peer.lang == "php":
        overflowed = client.submit_job(f"{peer.prefix}.power", args=[2, 64])
        assert overflowed == 2.0**64 and type(overflowed) is float
        return
    with pytest.raises(JobFailed) as failed:
        client.submit_job(f"{peer.prefix}.power", args=[2, 64])
    assert "beyond 64 bits" in failed.value.remote_message


def test_an_outside_worker_replying_an_integer_beyond_64_bits_is_a_decode_error(
    gearmand: Gearmand, client: GearmanClient, tmp_path: Path
) -> None:
    """A worker that writes 2**64 as JSON digits anyway (here the gearman C tool running
    printf) gets a DecodeError to the caller, never the float 1.8446744073709552e19."""
    host, port = gearmand.address.rsplit(":", 1)
    reply = "GME/1 ct=application/json\\n18446744073709551616"
    command = ["gearman", "-w", "-c", "1", "-h", host, "-p", port, "-f", "outside.huge"]
    with (
        background_process([*command, "--", "printf", reply], log_path=tmp_path / "w.log"),
        pytest.raises(DecodeError, match="outside the 64-bit range") as caught,
    ):
        client.submit_job("outside.huge", args=[])
    assert "18446744073709551616" in str(caught.value)


def test_reply_type_is_the_first_accepted_one_the_peer_writes(
    peer: PeerWorker, gearmand: Gearmand
) -> None:
    """docs/envelope.md, "Reply content type": the caller's accept list decides; a caller that
    lists no type the worker writes is refused before the job runs (JSON error envelope)."""
    function = f"{peer.prefix}.reverse"
    call = {"args": ["abc"], "kwargs": {}}
    with Client([gearmand.address]) as transport:
        for accept, expected in (
            ("application/msgpack,application/json", "application/msgpack"),
            ("text/x-unknown,application/json", "application/json"),
        ):
            blob = encode(call, "json", job=function, accept=accept.split(","))
            result = transport.submit(function, blob, timeout=30)
            decoded = decode(result.result or b"", job=function)
            assert (decoded.content_type, decoded.value) == (expected, "cba"), accept
        blob = encode(call, "json", job=function, accept=["text/x-unknown"])
        refused = transport.submit(function, blob, timeout=30)
    assert refused.state == "exception" and refused.exception is not None
    error = decode(refused.exception, job=function)
    assert error.content_type == "application/json"
    assert error.value["error"]["refused"] is True


def test_nan_is_refused_before_anything_is_sent(client: GearmanClient) -> None:
    """JSON has no NaN: the client refuses it at once (orjson alone would send null), naming
    where it sits, and no server is even needed."""
    with pytest.raises(EncodeError, match=r"args\.1: NaN and infinities"):
        client.submit_job("interop.nowhere.add", args=[1.0, float("nan")])
    with pytest.raises(EncodeError, match=r"kwargs\.limit: NaN and infinities"):
        client.submit_job("interop.nowhere.add", kwargs={"limit": float("-inf")})
