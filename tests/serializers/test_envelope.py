"""Envelope v1: encode/decode round trips, check order, signatures, limits, every error class."""

from __future__ import annotations

import subprocess
import sys
import zlib

import pytest

import serializers
from serializers import (
    BadSignature,
    ContentTypeNotAccepted,
    DecodeError,
    DecodePolicy,
    EncodeError,
    MalformedEnvelope,
    PayloadTooLarge,
    SerializerError,
    SignatureError,
    SignatureMissing,
    SigningKey,
    UnknownKey,
    UnsupportedVersion,
    decode,
    encode,
)
from serializers.envelope import read_header

KEY = SigningKey("k1", b"top-secret-value")
VERIFY = DecodePolicy(verify_keys={"k1": b"top-secret-value"})
PICKLE_POLICY = DecodePolicy(
    accept={"application/x-python-pickle"}, verify_keys={"k1": b"top-secret-value"}
)


def test_package_imports_no_django_or_gearman() -> None:
    code = (
        "import sys, serializers\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('django', 'django_gearman', 'gearman') or m.startswith(('django', 'gearman'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_plain_json_wire_format_is_exact() -> None:
    blob = encode({"args": [1], "kwargs": {}})
    assert blob == b'GME/1 ct=application/json\n{"args":[1],"kwargs":{}}'
    assert decode(blob).value == {"args": [1], "kwargs": {}}


def test_header_fields_round_trip_and_read_header() -> None:
    blob = encode(
        [1, 2],
        "msgpack",
        accept=("application/msgpack", "application/json"),
        schema="app.Thing@3",
        job="app.fn",
        signing_key=KEY,
    )
    assert blob.startswith(
        b"GME/1 ct=application/msgpack schema=app.Thing@3 "
        b"accept=application/msgpack,application/json kid=k1 sig="
    )
    header = read_header(blob)
    assert header.content_type == "application/msgpack"
    assert header.accept == ("application/msgpack", "application/json")
    assert header.schema == "app.Thing@3"
    assert header.key_id == "k1" and header.signature is not None and len(header.signature) == 64
    assert header.enveloped
    decoded = decode(blob, VERIFY, job="app.fn")
    assert decoded.value == [1, 2] and decoded.signed and decoded.key_id == "k1"
    assert decoded.accept == ("application/msgpack", "application/json")


def test_unknown_future_fields_are_ignored_but_signed() -> None:
    decoded = decode(b"GME/1 ct=application/json x-trace=abc\n[1]")
    assert decoded.value == [1]
    assert read_header(b"GME/1 ct=application/json x-trace=abc\n[1]").fields["x-trace"] == "abc"
    signed = encode([1], job="j", signing_key=KEY)
    forged = signed.replace(b" kid=", b" x-extra=1 kid=")
    with pytest.raises(BadSignature):
        decode(forged, VERIFY, job="j")


def test_extra_fields_are_written_read_back_and_signed() -> None:
    fields = {"id": "job-7f3a", "traceparent": "00-4bf92f35-00f067aa-01"}
    blob = encode([1], job="app.fn", signing_key=KEY, accept=["application/json"], fields=fields)
    assert blob.startswith(
        b"GME/1 ct=application/json accept=application/json id=job-7f3a "
        b"traceparent=00-4bf92f35-00f067aa-01 kid=k1 sig="
    )
    decoded = decode(blob, VERIFY, job="app.fn")
    assert decoded.value == [1]
    assert dict(decoded.fields) == fields
    tampered = blob.replace(b"id=job-7f3a", b"id=job-7f3b")
    with pytest.raises(BadSignature):
        decode(tampered, VERIFY, job="app.fn")


def test_decoded_fields_hold_only_keys_v1_does_not_define() -> None:
    blob = b"GME/1 ct=application/json enc=zlib schema=a@1 accept=text/plain x-a=1\n"
    decoded = decode(blob + zlib.compress(b"2"))
    assert dict(decoded.fields) == {"x-a": "1"}
    assert dict(decode(encode(2)).fields) == {}
    assert dict(decode(b"[3]", DecodePolicy(unenveloped="application/json")).fields) == {}


@pytest.mark.parametrize(
    "fields",
    [
        {"Id": "1"},
        {"1d": "1"},
        {"i_d": "1"},
        {"": "1"},
        {"ct": "text/plain"},
        {"sig": "0" * 64},
        {"kid": "k2"},
        {"accept": "text/plain"},
        {"id": "two words"},
        {"id": ""},
        {"id": "caf\u00e9"},
        {"id": "a\nb"},
        {"id": 7},
    ],
)
def test_extra_fields_are_checked_on_encode(fields: dict[str, object]) -> None:
    with pytest.raises(EncodeError):
        encode(1, fields=fields)  # type: ignore[arg-type]


def test_compression_only_when_large_and_smaller() -> None:
    small = encode("x", compress="zlib")
    assert b"enc=" not in small.split(b"\n")[0]
    big_value = ["repeat"] * 1000
    big = encode(big_value, compress="zlib", compress_min_bytes=100)
    assert big.startswith(b"GME/1 ct=application/json enc=zlib\n")
    decoded = decode(big)
    assert decoded.value == big_value and decoded.content_encoding == "zlib"
    with pytest.raises(EncodeError, match="unknown compression"):
        encode([1], compress="brotli")  # type: ignore[arg-type]


def test_signed_compressed_round_trip_and_key_rotation() -> None:
    old, new = SigningKey("old", b"s-old"), SigningKey("new", b"s-new")
    policy = DecodePolicy(verify_keys={"old": b"s-old", "new": b"s-new"}, require_signature=True)
    for key in (old, new):
        blob = encode(["v"] * 500, job="app.fn", signing_key=key, compress="zlib")
        decoded = decode(blob, policy, job="app.fn")
        assert decoded.key_id == key.key_id and decoded.content_encoding == "zlib"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"a":1}', MalformedEnvelope),
        (b"GME/2 ct=application/json\n{}", UnsupportedVersion),
        (b"GME/7 whatever without newline", UnsupportedVersion),
        (b"GME/x ct=application/json\n{}", MalformedEnvelope),
        (b"GME/1\n{}", MalformedEnvelope),
        (b"GME/1 ct=application/json", MalformedEnvelope),
        (b"GME/1 ct=application/json ct=text/plain\n{}", MalformedEnvelope),
        (b"GME/1 ct=application/json \n{}", MalformedEnvelope),
        (b"GME/1 ct=\n{}", MalformedEnvelope),
        (b"GME/1 CT=application/json\n{}", MalformedEnvelope),
        (b"GME/1 ct=application/json\xc3\xa9\n{}", MalformedEnvelope),
        (b"GME/1 ct=application/json accept=a,,b\n{}", MalformedEnvelope),
        (b"GME/1 ct=application/json sig=" + b"0" * 64 + b"\n{}", MalformedEnvelope),
        (b"GME/1 ct=application/json kid=k1 sig=ABC\n{}", MalformedEnvelope),
        (b"GME/1 ct=text/plain\nhi", ContentTypeNotAccepted),
        (b"GME/1 ct=application/json enc=gzip\n{}", ContentTypeNotAccepted),
        (b"GME/1 ct=application/json\n{", DecodeError),
        (b"GME/1 ct=application/json enc=zlib\n{}", DecodeError),
        (b"GME/1 ct=application/json kid=nope sig=" + b"a" * 64 + b"\n{}", UnknownKey),
    ],
)
def test_bad_envelopes_raise_typed_errors(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode(data, VERIFY)


@pytest.mark.parametrize(
    ("marker", "error"),
    [
        (b"GME/2", UnsupportedVersion),
        (b"GME/10", UnsupportedVersion),
        (b"GME/999999999", UnsupportedVersion),
        (b"GME/0", MalformedEnvelope),
        (b"GME/01", MalformedEnvelope),
        (b"GME/00", MalformedEnvelope),
        (b"GME/1000000000", MalformedEnvelope),
        (b"GME/", MalformedEnvelope),
        (b"GME/1x", MalformedEnvelope),
        (b"GME/+1", MalformedEnvelope),
    ],
)
def test_version_grammar_is_exact(marker: bytes, error: type[Exception]) -> None:
    """version = %x31-39 *8DIGIT: a number without leading zeros; anything else is malformed."""
    for data in (marker + b" ct=application/json\n[]", marker + b"\n[]", marker):
        with pytest.raises(MalformedEnvelope) as caught:
            decode(data)
        assert type(caught.value) is error, (data, caught.value)


def test_signature_errors() -> None:
    blob = encode({"x": 1}, job="app.a", signing_key=KEY)
    assert decode(blob, VERIFY, job="app.a").value == {"x": 1}
    with pytest.raises(BadSignature):
        decode(blob, VERIFY, job="app.b")
    with pytest.raises(BadSignature):
        decode(blob.replace(b'"x"', b'"y"'), VERIFY, job="app.a")
    with pytest.raises(UnknownKey):
        decode(blob, DecodePolicy(verify_keys={"k2": b"other"}), job="app.a")
    with pytest.raises(SignatureMissing):
        decode(encode({"x": 1}), DecodePolicy(require_signature=True))
    assert issubclass(SignatureMissing, SignatureError) and issubclass(BadSignature, SignatureError)
    with pytest.raises(EncodeError, match="newline"):
        encode(1, job="a\nb", signing_key=KEY)


def test_pickle_needs_acceptance_and_signature() -> None:
    unsigned = encode({1, 2}, "pickle")
    with pytest.raises(ContentTypeNotAccepted):
        decode(unsigned)
    with pytest.raises(SignatureMissing):
        decode(unsigned, PICKLE_POLICY)
    lax = DecodePolicy(accept={"application/x-python-pickle"}, allow_unsigned_unsafe=True)
    assert decode(unsigned, lax).value == {1, 2}
    signed = encode({1, 2}, "pickle", job="j", signing_key=KEY)
    assert decode(signed, PICKLE_POLICY, job="j").value == {1, 2}


def test_size_limits() -> None:
    policy = DecodePolicy(max_header_bytes=64, max_body_bytes=100, max_decoded_bytes=1000)
    with pytest.raises(PayloadTooLarge):
        decode(b"GME/1 ct=application/json x-pad=" + b"p" * 100 + b"\n{}", policy)
    with pytest.raises(PayloadTooLarge):
        decode(b"GME/1 ct=application/json x-pad=" + b"p" * 100, policy)
    with pytest.raises(PayloadTooLarge):
        decode(encode(["x" * 200]), policy)
    bomb = b"GME/1 ct=application/json enc=zlib\n" + zlib.compress(b" " * (50 << 20), 9)
    with pytest.raises(PayloadTooLarge):
        decode(bomb, DecodePolicy(max_decoded_bytes=1 << 20))
    with pytest.raises(PayloadTooLarge):
        decode(b"[1]" * 100, DecodePolicy(unenveloped="application/json", max_body_bytes=10))


def test_truncated_zlib_and_trailing_bytes() -> None:
    packed = zlib.compress(b"[1,2,3]" * 100)
    with pytest.raises(DecodeError, match="truncated"):
        decode(b"GME/1 ct=application/json enc=zlib\n" + packed[:-5])
    with pytest.raises(DecodeError, match="trailing"):
        decode(b"GME/1 ct=application/json enc=zlib\n" + packed + b"junk")


def test_unenveloped_rule() -> None:
    with pytest.raises(MalformedEnvelope, match="not an envelope"):
        decode(b"[1]")
    policy = DecodePolicy(unenveloped="application/json")
    decoded = decode(b"[1]", policy)
    assert decoded.value == [1] and not decoded.signed
    assert not read_header(b"[1]", policy).enveloped
    with pytest.raises(SignatureMissing):
        decode(b"[1]", DecodePolicy(unenveloped="application/json", require_signature=True))
    pickled = encode(1, "pickle").split(b"\n", 1)[1]
    with pytest.raises(SignatureMissing):
        decode(pickled, DecodePolicy(unenveloped="application/x-python-pickle"))
    text = decode(b"plain words", DecodePolicy(unenveloped="text/plain"))
    assert text.value == "plain words" and text.content_type == "text/plain"


def test_max_depth_policy() -> None:
    nested = encode([[[[1]]]])
    assert decode(nested, DecodePolicy(max_depth=4)).value == [[[[1]]]]
    with pytest.raises(DecodeError, match="deeper"):
        decode(nested, DecodePolicy(max_depth=3))


def test_deep_json_is_refused_without_crashing() -> None:
    deep = b"GME/1 ct=application/json\n" + b"[" * 300_000 + b"]" * 300_000
    with pytest.raises(DecodeError, match="nesting"):
        decode(deep)
    fine = b"GME/1 ct=application/json\n" + b'["[[[[' + b"[" * 2000 + b'"]'
    assert decode(fine).value == ["[[[[" + "[" * 2000]


def test_decode_rejects_non_bytes_and_accepts_bytearray() -> None:
    with pytest.raises(DecodeError):
        decode("GME/1 ct=application/json\n1")  # type: ignore[arg-type]
    assert decode(bytearray(b"GME/1 ct=application/json\n1")).value == 1


def test_explicit_serializer_must_match_content_type() -> None:
    with pytest.raises(ContentTypeNotAccepted):
        decode(encode([1], "msgpack"), serializer=serializers.JsonSerializer())


def test_bad_arguments_get_clear_errors() -> None:
    with pytest.raises(serializers.UnknownSerializer):
        encode(1, 42)  # type: ignore[arg-type]
    with pytest.raises(serializers.UnknownSerializer):
        encode(1, "yaml")
    with pytest.raises(TypeError, match="DecodePolicy"):
        decode(encode(1), {"accept": []})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="job name"):
        encode(1, job=b"bytes", signing_key=KEY)  # type: ignore[arg-type]
    assert read_header(encode(1, accept="application/msgpack")).accept == ("application/msgpack",)


def test_encode_rejects_bad_header_values() -> None:
    with pytest.raises(EncodeError):
        encode(1, accept=("application/json,evil",))
    with pytest.raises(EncodeError):
        encode(1, schema="has space@1")


def test_secrets_never_printed() -> None:
    key = SigningKey("k1", b"hunter2-secret")
    policy = DecodePolicy(verify_keys={"k1": b"hunter2-secret"})
    for text in (repr(key), str(key), repr(policy), str(policy)):
        assert "hunter2" not in text
    blob = encode(1, job="a", signing_key=key)
    with pytest.raises(SerializerError) as caught:
        decode(blob, policy, job="b")
    assert "hunter2" not in str(caught.value)


def test_policy_and_key_construction_errors() -> None:
    with pytest.raises(TypeError):
        SigningKey("k1", "not-bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SigningKey("has space", b"x")
    with pytest.raises(TypeError):
        DecodePolicy(verify_keys={"k1": "str-secret"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        DecodePolicy(accept="application/json")
    with pytest.raises(ValueError):
        DecodePolicy(max_body_bytes=0)


def test_policies_are_hashable_values() -> None:
    first = DecodePolicy(verify_keys={"k": b"s"}, accept=["application/json"])
    second = DecodePolicy(verify_keys={"k": b"s"}, accept={"application/json"})
    assert first == second and hash(first) == hash(second)
    assert first != DecodePolicy(verify_keys={"k": b"other"}, accept=["application/json"])
