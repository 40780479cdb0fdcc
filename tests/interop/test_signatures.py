"""Signed envelopes cross languages: made in a peer and verified in Python, made in Python and
verified in the peer; a tampered one (body, header, job name, key) is refused on both sides."""

from __future__ import annotations

from typing import Any

import pytest

from serializers import (
    BadSignature,
    DecodePolicy,
    SignatureMissing,
    SigningKey,
    UnknownKey,
    decode,
    encode,
)
from tests.interop import peers

PEERS = ["perl", "php", "node"]
JOB = "billing.charge"
SECRET = b"shared-secret-for-interop-0001"
KEY = SigningKey("k1", SECRET)
VALUE: dict[str, Any] = {"args": ["ACME", 12.5], "kwargs": {"currency": "€", "dry_run": False}}
STRICT = DecodePolicy(verify_keys={"k1": SECRET}, require_signature=True)


def tampered_versions(envelope: bytes) -> dict[str, bytes]:
    """The same signed envelope with one thing changed, each of which must break the signature."""
    header, _, body = envelope.partition(b"\n")
    sig_at = header.rindex(b" sig=")
    flipped = bytes([body[-1] ^ 0x01])
    return {
        "body byte flipped": header + b"\n" + body[:-1] + flipped,
        "header field added": header[:sig_at] + b" x-extra=1" + header[sig_at:] + b"\n" + body,
        "signature replaced": header[: sig_at + 5] + b"0" * 64 + b"\n" + body,
        "body appended": envelope + b" ",
    }


@pytest.mark.parametrize("lang", PEERS)
@pytest.mark.parametrize(
    ("content_type", "zlib"), [("application/json", False), ("application/msgpack", True)]
)
def test_peer_signed_envelope_verifies_in_python(lang: str, content_type: str, zlib: bool) -> None:
    (envelope,) = peers.peer_write(
        lang, [peers.write_request(VALUE, content_type, JOB, key=("k1", SECRET), zlib=zlib)]
    )
    decoded = decode(envelope, STRICT, job=JOB)
    assert (decoded.value, decoded.key_id, decoded.signed) == (VALUE, "k1", True)
    assert decoded.content_encoding == ("zlib" if zlib else None)
    with pytest.raises(BadSignature):
        decode(envelope, STRICT, job="billing.refund")
    with pytest.raises(BadSignature):
        decode(envelope, DecodePolicy(verify_keys={"k1": b"another-secret-entirely"}), job=JOB)
    with pytest.raises(UnknownKey):
        decode(envelope, DecodePolicy(verify_keys={"k2": SECRET}), job=JOB)
    for what, bad in tampered_versions(envelope).items():
        with pytest.raises(BadSignature):
            decode(bad, STRICT, job=JOB)
            pytest.fail(f"python accepted a {lang} envelope with its {what}")


@pytest.mark.parametrize("lang", PEERS)
def test_python_signed_envelope_verifies_in_peer(lang: str) -> None:
    keys = {"k1": SECRET}
    envelopes = [
        encode(VALUE, "json", job=JOB, signing_key=KEY),
        encode(VALUE, "msgpack", job=JOB, signing_key=KEY, compress="zlib", compress_min_bytes=0),
    ]
    good = [
        peers.read_request(envelope, JOB, keys, require_signature=True) for envelope in envelopes
    ]
    unsigned = encode(VALUE, "json", job=JOB)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("other job", peers.read_request(envelopes[0], "billing.refund", keys), "bad-signature"),
        (
            "wrong secret",
            peers.read_request(envelopes[0], JOB, {"k1": b"another-secret"}),
            "bad-signature",
        ),
        ("unknown key id", peers.read_request(envelopes[0], JOB, {"k2": SECRET}), "unknown-key"),
        (
            "unsigned",
            peers.read_request(unsigned, JOB, keys, require_signature=True),
            "signature-missing",
        ),
    ]
    for envelope in envelopes:
        for what, bad in tampered_versions(envelope).items():
            cases.append((what, peers.read_request(bad, JOB, keys), "bad-signature"))
    answers = peers.run_peer(lang, "read", good + [request for _, request, _ in cases])
    for answer in answers[: len(good)]:
        assert answer["ok"], answer
        assert not peers.differences(peers.canon(VALUE), answer["value"])
    refusals = {
        what: answer.get("error")
        for (what, _, _), answer in zip(cases, answers[len(good) :], strict=True)
    }
    assert refusals == {what: expected for what, _, expected in cases}


def test_python_refuses_unsigned_peer_envelope_when_signatures_are_required() -> None:
    (envelope,) = peers.peer_write("php", [peers.write_request(VALUE, "application/json", JOB)])
    assert decode(envelope, job=JOB).value == VALUE
    with pytest.raises(SignatureMissing):
        decode(envelope, STRICT, job=JOB)
