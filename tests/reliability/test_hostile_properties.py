"""Adversarial properties of the envelope decoder and the Gearman packet parser (hypothesis).

Beyond "only typed errors" (tests/serializers, tests/protocol): a signed envelope that was
changed anywhere never decodes to another value; every truncation is an error or the original;
inflation stops at the limit; nesting past the limit is refused without recursion errors; the
packet parser never buffers past its limit, and is poisoned after an error. The same properties
run with a long budget under ``-m fuzz`` (``make fuzz``), and random mutations also go through
the real worker process.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_gearman.exceptions import JobRefused
from django_gearman.protocol import PacketParser, PacketType, ProtocolError
from django_gearman.protocol.packets import ARGUMENT_COUNTS, RES, encode_packet
from serializers import DecodePolicy, SerializerError, SigningKey, decode, encode
from tests.reliability.conftest import SignedWorker
from tests.reliability.keys import KEY_ID, SECRET
from tests.reliability.support import submit_raw

JOB = "rel.echo"
KEY = SigningKey(KEY_ID, SECRET.encode())
STRICT = DecodePolicy(
    accept={"application/json", "application/msgpack"},
    verify_keys={KEY_ID: SECRET.encode()},
    require_signature=True,
)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def signed_envelopes(draw: st.DrawFn) -> tuple[Any, bytes]:
    value = {"args": [draw(VALUES)], "kwargs": {}}
    serializer = draw(st.sampled_from(["json", "msgpack"]))
    compression: tuple[Literal["zlib"] | None, ...] = (None, "zlib")
    compress = draw(st.sampled_from(compression))
    blob = encode(
        value, serializer, job=JOB, signing_key=KEY, compress=compress, compress_min_bytes=0
    )
    return value, blob


@st.composite
def mutations(draw: st.DrawFn) -> tuple[Any, bytes]:
    """A signed envelope with one edit: a byte flipped, inserted or deleted, or a cut."""
    value, blob = draw(signed_envelopes())
    at = draw(st.integers(0, len(blob) - 1))
    kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
    if kind == "flip":
        bit = draw(st.integers(1, 255))
        blob = blob[:at] + bytes([blob[at] ^ bit]) + blob[at + 1 :]
    elif kind == "insert":
        blob = blob[:at] + draw(st.binary(min_size=1, max_size=4)) + blob[at:]
    elif kind == "delete":
        blob = blob[:at] + blob[at + 1 :]
    else:
        blob = blob[:at]
    return value, blob


def decodes_to_original_or_typed_error(value: Any, blob: bytes) -> None:
    try:
        decoded = decode(blob, STRICT, job=JOB)
    except SerializerError:
        return
    assert decoded.value == value, "a changed signed envelope decoded to another value"


@given(mutations())
def test_changed_signed_envelope_never_decodes_to_another_value(case: tuple[Any, bytes]) -> None:
    decodes_to_original_or_typed_error(*case)


@given(signed_envelopes(), st.data())
def test_every_truncation_is_a_typed_error(case: tuple[Any, bytes], data: st.DataObject) -> None:
    blob = case[1]
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(SerializerError):
        decode(blob[:cut], STRICT, job=JOB)


@given(signed_envelopes(), st.text(min_size=1, max_size=20).filter(lambda name: name != JOB))
def test_signature_binds_the_job_name(case: tuple[Any, bytes], other_job: str) -> None:
    with pytest.raises(SerializerError):
        decode(case[1], STRICT, job=other_job)


OCTETS = DecodePolicy(accept={"application/octet-stream"}, max_decoded_bytes=64 * 1024)


@given(st.integers(0, 256 * 1024), st.integers(1, 9))
def test_inflation_stops_exactly_at_the_limit(size: int, level: int) -> None:
    body = zlib.compress(bytes(size), level)
    blob = b"GME/1 ct=application/octet-stream enc=zlib\n" + body
    if size > OCTETS.max_decoded_bytes:
        with pytest.raises(SerializerError, match="inflates to more than"):
            decode(blob, OCTETS)
    else:
        assert decode(blob, OCTETS).value == bytes(size)


@given(
    st.integers(1, 20_000) | st.integers(1020, 1030),
    st.sampled_from(["json-list", "json-object", "msgpack"]),
)
def test_nesting_past_the_limit_is_refused_without_recursion_errors(depth: int, shape: str) -> None:
    if shape == "json-list":
        body, ct = b"[" * depth + b"]" * depth, b"application/json"
    elif shape == "json-object":
        body, ct = b'{"a":' * depth + b"1" + b"}" * depth, b"application/json"
    else:
        body, ct = b"\x91" * depth + b"\xc0", b"application/msgpack"
    blob = b"GME/1 ct=" + ct + b"\n" + body
    if depth > 1024:
        with pytest.raises(SerializerError):
            decode(blob)
    else:
        decode(blob)


# str32, bin32, array32, map32, array16, ext32: each announces far more than follows.
LYING_HEADS = (
    b"\xdb\xff\xff\xff\xff",
    b"\xc6\xff\xff\xff\xff",
    b"\xdd\xff\xff\xff\xff",
    b"\xdf\xff\xff\xff\xff",
    b"\xdc\xff\xff",
    b"\xc9\xff\xff\xff\xff\x05",
)


@given(st.binary(max_size=64), st.integers(0, len(LYING_HEADS) - 1))
def test_msgpack_lying_length_fields_are_typed_errors(tail: bytes, which: int) -> None:
    """Containers and strings announcing up to 4 GiB - 1 items or bytes that are not there."""
    head = LYING_HEADS[which]
    with pytest.raises(SerializerError):
        decode(b"GME/1 ct=application/msgpack\n" + head + tail)


# -- packet parser ----------------------------------------------------------------------------

PACKET_TYPES = st.sampled_from(sorted(ARGUMENT_COUNTS))


@st.composite
def packets(draw: st.DrawFn) -> bytes:
    ptype = draw(PACKET_TYPES)
    count = ARGUMENT_COUNTS[ptype]
    args = [draw(st.binary(max_size=12).filter(lambda b: b"\0" not in b)) for _ in range(count)]
    if count:
        args[-1] = draw(st.binary(max_size=40))
    return encode_packet(ptype, tuple(args), RES)


@given(st.lists(packets(), min_size=1, max_size=6), st.data())
def test_truncated_stream_gives_exactly_the_complete_packets(
    stream: list[bytes], data: st.DataObject
) -> None:
    whole = b"".join(stream)
    cut = data.draw(st.integers(0, len(whole)))
    parser = PacketParser()
    parser.feed(whole[:cut])
    got = parser.packets()
    ends = [sum(map(len, stream[: i + 1])) for i in range(len(stream))]
    complete = sum(1 for end in ends if end <= cut)
    assert len(got) == complete
    assert parser.buffered == cut - (ends[complete - 1] if complete else 0)


@given(st.integers(1, 0xFFFFFFFF), st.integers(0, 1 << 16), PACKET_TYPES)
def test_size_field_over_the_limit_is_refused_before_buffering(
    size: int, limit: int, ptype: int
) -> None:
    parser = PacketParser(max_packet=limit)
    header = struct.pack(">4sII", RES, ptype, size)
    if size > limit:
        with pytest.raises(ProtocolError):
            parser.feed(header)
        assert parser.buffered == 0
        with pytest.raises(ProtocolError):  # poisoned: the stream lost its framing
            parser.feed(encode_packet(PacketType.NOOP, (), RES))
    else:
        parser.feed(header)
        assert parser.next_packet() is None or size == 0 or ARGUMENT_COUNTS[ptype] == 0


def parse_in_chunks_only_raises_protocol_error(data: bytes, chunk: int) -> None:
    """Feed ``data`` in ``chunk``-sized pieces: a ProtocolError at most, and the parser stays
    poisoned after it."""
    parser = PacketParser(max_packet=256)
    try:
        for start in range(0, len(data), chunk):
            parser.feed(data[start : start + chunk])
            parser.packets()
            assert parser.buffered <= 256 + 12 + chunk
    except ProtocolError:
        with pytest.raises(ProtocolError):
            parser.next_packet()


@given(st.binary(min_size=12, max_size=512), st.integers(1, 16))
def test_any_bytes_in_any_chunks_only_ever_raise_protocol_error(data: bytes, chunk: int) -> None:
    parse_in_chunks_only_raises_protocol_error(data, chunk)


# -- through the real worker ------------------------------------------------------------------


def mutated_envelope_is_answered_or_refused(
    signed_worker: SignedWorker, case: tuple[Any, bytes]
) -> None:
    """The worker answers the original value or a typed refusal, and keeps serving."""
    value, blob = case
    try:
        assert submit_raw(signed_worker.client, JOB, blob, timeout=20) == value["args"][0]
    except JobRefused as refused:
        assert refused.remote_type.startswith("serializers.errors."), refused
    assert signed_worker.client.submit_job("rel.pid") == signed_worker.child


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations())
def test_mutated_envelopes_through_the_worker(
    signed_worker: SignedWorker, case: tuple[Any, bytes]
) -> None:
    mutated_envelope_is_answered_or_refused(signed_worker, case)


# -- long budget: make fuzz -------------------------------------------------------------------


def fuzz(test: Any) -> Any:
    """The fuzz marker, with a time budget to match the fuzz profile's 50,000 examples."""
    return pytest.mark.fuzz(pytest.mark.timeout(1800)(test))


@fuzz
@given(mutations())
def test_fuzz_changed_signed_envelope(case: tuple[Any, bytes]) -> None:
    decodes_to_original_or_typed_error(*case)


@fuzz
@given(st.binary(min_size=12, max_size=4096), st.integers(1, 64))
def test_fuzz_packet_parser(data: bytes, chunk: int) -> None:
    parse_in_chunks_only_raises_protocol_error(data, chunk)


@fuzz
@settings(max_examples=10_000, suppress_health_check=list(HealthCheck))
@given(mutations())
def test_fuzz_mutated_envelopes_through_the_worker(
    signed_worker: SignedWorker, case: tuple[Any, bytes]
) -> None:
    mutated_envelope_is_answered_or_refused(signed_worker, case)
