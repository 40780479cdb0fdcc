"""What a user's type-checked code may write: mypy checks this file (pyproject `[tool.mypy]`).

The runtime assertions keep it a real test; the point is that every line type-checks, e.g. a
built-in serializer object where the `Serializer` protocol is expected.
"""

from __future__ import annotations

from collections.abc import Iterator

from serializers import (
    BytesSerializer,
    DecodePolicy,
    JsonSerializer,
    MsgpackSerializer,
    PickleSerializer,
    SchemaSerializer,
    Serializer,
    TextSerializer,
    decode,
    encode,
)


def test_builtin_serializers_are_serializers_for_the_type_checker() -> None:
    every: list[Serializer] = [
        JsonSerializer(),
        MsgpackSerializer(),
        PickleSerializer(),
        TextSerializer(),
        BytesSerializer(),
        SchemaSerializer(int),
    ]
    assert [s.name for s in every[:5]] == ["json", "msgpack", "pickle", "text", "bytes"]
    blob = encode({"n": 1}, JsonSerializer())
    assert decode(blob, serializer=JsonSerializer()).value == {"n": 1}
    assert decode(encode(2, SchemaSerializer(int)), serializer=SchemaSerializer(int)).value == 2


def test_policy_accept_takes_any_iterable_of_str() -> None:
    def generated() -> Iterator[str]:
        yield "application/json"

    json_only = frozenset({"application/json"})
    assert DecodePolicy(accept={"application/json"}).accept == json_only
    assert DecodePolicy(accept=["application/json"]).accept == json_only
    assert DecodePolicy(accept=("application/json",)).accept == json_only
    assert DecodePolicy(accept=generated()).accept == json_only
    assert DecodePolicy(accept=json_only) == DecodePolicy(accept=["application/json"])


def test_decode_takes_bytes_like_payloads() -> None:
    blob = encode([1])
    assert decode(bytearray(blob)).value == [1]
    assert decode(memoryview(blob)).value == [1]
