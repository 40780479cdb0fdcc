"""Property tests: every serializer round-trips its value types; hostile bytes give only
SerializerError subclasses (never another exception, never a hang)."""

from __future__ import annotations

import contextlib
import datetime
import decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serializers import (
    CallSchema,
    DecodePolicy,
    SchemaSerializer,
    SerializerError,
    SigningKey,
    ValidationFailed,
    decode,
    encode,
)
from serializers.envelope import read_header

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
JSON_SCALARS = st.none() | st.booleans() | INT64 | FLOATS | st.text()
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)
MSGPACK_VALUES = st.recursive(
    JSON_SCALARS | st.binary(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)
PICKLE_VALUES = st.recursive(
    JSON_SCALARS | st.binary() | st.decimals(allow_nan=False) | st.frozensets(INT64, max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner),
    max_leaves=20,
)
KEY = SigningKey("k1", b"property-secret")
EVERYTHING = DecodePolicy(
    accept={
        "application/json",
        "application/msgpack",
        "text/plain",
        "application/octet-stream",
        "application/x-python-pickle",
    },
    verify_keys={"k1": b"property-secret"},
    max_decoded_bytes=1 << 20,
    max_depth=64,
)
UNENVELOPED = DecodePolicy(unenveloped="application/msgpack")
DECIMALS = SchemaSerializer(dict[str, decimal.Decimal], "decimals")


@given(JSON_VALUES)
def test_json_round_trip(value: Any) -> None:
    assert decode(encode(value, "json")).value == value


@given(MSGPACK_VALUES, st.booleans())
def test_msgpack_round_trip_signed_and_compressed(value: Any, signed: bool) -> None:
    key = KEY if signed else None
    blob = encode(value, "msgpack", job="j", signing_key=key, compress="zlib", compress_min_bytes=0)
    decoded = decode(blob, EVERYTHING, job="j")
    assert decoded.value == value and decoded.signed is signed


@given(PICKLE_VALUES)
def test_pickle_round_trip_when_signed(value: Any) -> None:
    blob = encode(value, "pickle", job="j", signing_key=KEY)
    assert decode(blob, EVERYTHING, job="j").value == value


@given(st.text(), st.binary())
def test_text_and_bytes_round_trip(text: str, raw: bytes) -> None:
    assert decode(encode(text, "text"), EVERYTHING).value == text
    assert decode(encode(raw, "bytes"), EVERYTHING).value == raw


@given(st.dictionaries(st.text(), st.decimals(allow_nan=False, allow_infinity=False), max_size=5))
def test_schema_round_trip_keeps_types(value: dict[str, decimal.Decimal]) -> None:
    got = decode(encode(value, DECIMALS), serializer=DECIMALS).value
    assert got == value
    assert all(isinstance(v, decimal.Decimal) for v in got.values())


def _only_serializer_errors(data: bytes) -> None:
    for policy in (EVERYTHING, UNENVELOPED):
        with contextlib.suppress(SerializerError):
            decode(data, policy, job="j")
        with contextlib.suppress(SerializerError):
            read_header(data, policy)


def _arbitrary_bytes_case(data: bytes) -> None:
    _only_serializer_errors(data)
    _only_serializer_errors(b"GME/1 ct=application/json\n" + data)
    _only_serializer_errors(b"GME/1 ct=application/msgpack enc=zlib\n" + data)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_only_serializer_errors(data: bytes) -> None:
    _arbitrary_bytes_case(data)


@pytest.mark.fuzz
@given(st.binary(max_size=4000))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _arbitrary_bytes_case(data)


SEEDS = [
    encode({"args": [1, "x"], "kwargs": {"k": [1.5, None]}}),
    encode([b"\x00" * 40, {"a": 1}], "msgpack", accept=("application/json",), schema="s@1"),
    encode(["zz"] * 50, compress="zlib", compress_min_bytes=0, job="j", signing_key=KEY),
    encode("text body", "text", job="j", signing_key=KEY),
    encode({1, 2}, "pickle", job="j", signing_key=KEY),
]


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and data:
            data[position] ^= draw(st.integers(min_value=1, max_value=255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete" and data:
            del data[position : position + draw(st.integers(min_value=1, max_value=8))]
        elif action == "truncate":
            del data[position:]
    return bytes(data)


@given(mutated_envelopes())
def test_mutated_envelopes_give_only_serializer_errors(data: bytes) -> None:
    _only_serializer_errors(data)


@pytest.mark.fuzz
@given(mutated_envelopes())
def test_fuzz_mutated_envelopes(data: bytes) -> None:
    _only_serializer_errors(data)


def _typed_job(count: int, when: datetime.datetime, *rest: decimal.Decimal, **extra: str) -> None:
    return None


TYPED_JOB = CallSchema.from_function(_typed_job)
WIRE_CALLS = st.fixed_dictionaries(
    {
        "args": st.lists(JSON_VALUES | st.datetimes().map(str), max_size=4),
        "kwargs": st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=4),
    }
)


@given(JSON_VALUES | WIRE_CALLS)
def test_call_validation_of_untrusted_values_raises_only_validation_failed(value: Any) -> None:
    try:
        call = TYPED_JOB.validate(value)
    except ValidationFailed as exc:
        assert exc.errors and all(set(e) == {"loc", "msg", "type"} for e in exc.errors)
    else:
        assert isinstance(call.args[0], int) and isinstance(call.args[1], datetime.datetime)
