"""Built-in serializers and the registry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import math
import re
import uuid
from typing import Any

import msgpack
import pytest
from pydantic import BaseModel

from serializers import (
    BytesSerializer,
    DecodeError,
    EncodeError,
    JsonSerializer,
    MsgpackSerializer,
    PickleSerializer,
    SerializerRegistry,
    TextSerializer,
    UnknownSerializer,
    default_registry,
    get_serializer,
)
from serializers.builtin import to_primitive


class Item(BaseModel):
    name: str
    price: decimal.Decimal


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_builtins_registered_by_name_and_content_type() -> None:
    for name, ct, safe in [
        ("json", "application/json", True),
        ("msgpack", "application/msgpack", True),
        ("pickle", "application/x-python-pickle", False),
        ("text", "text/plain", True),
        ("bytes", "application/octet-stream", True),
    ]:
        by_name, by_ct = get_serializer(name), get_serializer(ct)
        assert by_name is by_ct
        assert (by_name.name, by_name.content_type, by_name.safe) == (name, ct, safe)
    with pytest.raises(UnknownSerializer):
        get_serializer("yaml")
    with pytest.raises(UnknownSerializer):
        default_registry.by_content_type("application/yaml")


class Upper:
    name = "upper"
    content_type = "text/x-upper"
    safe = True

    def encode(self, value: str) -> bytes:
        return value.upper().encode()

    def decode(self, data: bytes) -> str:
        return data.decode()


def test_registry_accepts_instance_class_and_dotted_path() -> None:
    registry = SerializerRegistry()
    assert registry.register(Upper).name == "upper"
    assert registry.get("text/x-upper").encode("a") == b"A"
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Upper())
    registry.register(Upper(), replace=True)
    other = SerializerRegistry()
    other.register("tests.serializers.test_builtin.Upper")
    assert "upper" in other and "text/x-upper" in other
    assert other.names() == ["upper"]
    with pytest.raises(UnknownSerializer):
        other.register("tests.serializers.test_builtin.Missing")
    with pytest.raises(UnknownSerializer):
        other.register("nodots")
    with pytest.raises(UnknownSerializer):
        other.register(object())  # type: ignore[arg-type]


def test_json_conversions() -> None:
    json = JsonSerializer()
    value = {
        "d": decimal.Decimal("1.10"),
        "t": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "u": uuid.UUID(int=5),
        "s": {3, 1, 2},
        "tu": (1, 2),
        "p": Point(1, 2),
        "m": Item(name="a", price=decimal.Decimal("2.50")),
    }
    assert json.decode(json.encode(value)) == {
        "d": "1.10",
        "t": "2024-01-02T03:04:05+00:00",
        "u": "00000000-0000-0000-0000-000000000005",
        "s": [1, 2, 3],
        "tu": [1, 2],
        "p": {"x": 1, "y": 2},
        "m": {"name": "a", "price": "2.50"},
    }
    with pytest.raises(EncodeError, match="msgpack"):
        json.encode({"raw": b"\x00"})
    with pytest.raises(EncodeError):
        json.encode(object())
    with pytest.raises(EncodeError):
        json.encode(2**70)
    with pytest.raises(DecodeError):
        json.decode(b"\xff")


def test_msgpack_bytes_native_and_same_conversions() -> None:
    pack = MsgpackSerializer()
    value = {"b": b"\x00\xff", "d": decimal.Decimal("3"), "p": Point(3, 4), "tu": (1,)}
    assert pack.decode(pack.encode(value)) == {
        "b": b"\x00\xff",
        "d": "3",
        "p": {"x": 3, "y": 4},
        "tu": [1],
    }
    with pytest.raises(EncodeError):
        pack.encode(object())
    with pytest.raises(EncodeError):
        pack.encode(2**70)
    with pytest.raises(DecodeError):
        pack.decode(pack.encode([1, 2])[:-1])
    with pytest.raises(DecodeError):
        pack.decode(pack.encode(1) + b"\x01")
    with pytest.raises(DecodeError, match="extension"):
        pack.decode(msgpack.packb(msgpack.ExtType(5, b"x")))
    with pytest.raises(DecodeError):
        pack.decode(b"\x91" * 2000 + b"\xc0")
    stamp = msgpack.packb(msgpack.Timestamp(0))
    assert pack.decode(stamp) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def test_pickle_text_bytes() -> None:
    pickler = PickleSerializer()
    assert pickler.decode(pickler.encode({1: Point(1, 2)})) == {1: Point(1, 2)}
    with pytest.raises(EncodeError):
        pickler.encode(lambda: None)
    with pytest.raises(DecodeError):
        pickler.decode(b"not a pickle")
    text = TextSerializer()
    assert text.decode(text.encode("h\u00e9")) == "h\u00e9"
    with pytest.raises(EncodeError):
        text.encode(1)
    with pytest.raises(EncodeError):
        text.encode("\ud800")
    with pytest.raises(DecodeError):
        text.decode(b"\xff")
    raw = BytesSerializer()
    assert raw.decode(raw.encode(bytearray(b"ab"))) == b"ab"
    with pytest.raises(EncodeError):
        raw.encode("str")


def test_error_descriptions_survive_hostile_values() -> None:
    from serializers.errors import describe

    class BrokenRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert describe(10**5000) == "<int value>"
    assert describe(BrokenRepr()).endswith("BrokenRepr value>")
    assert len(describe("x" * 1000)) == 60


def test_json_depth_limit_is_orjsons_own() -> None:
    """orjson (3.9.15+) refuses nesting past 1024 itself, so no body is scanned beforehand."""
    json = JsonSerializer()
    assert json.decode(b"[" * 1024 + b"]" * 1024) is not None
    for deep in (b"[" * 1025 + b"]" * 1025, b'{"a":' * 1025 + b"1" + b"}" * 1025):
        with pytest.raises(DecodeError, match="nesting deeper than 1024"):
            json.decode(deep)
    with pytest.raises(DecodeError, match="invalid document"):
        json.decode(b"[1,")
    assert json.decode(b'["' + b"[" * 2000 + b'"]') == ["[" * 2000]


def test_two_million_levels_are_refused_without_crashing() -> None:
    """In a child process, so a parser without a depth limit could not take the suite down."""
    import subprocess
    import sys

    code = (
        "from serializers import JsonSerializer, DecodeError\n"
        "for deep in (b'[' * 2_000_000 + b']' * 2_000_000, b'{\"a\":' * 2_000_000):\n"
        "    try:\n"
        "        JsonSerializer().decode(deep)\n"
        "    except DecodeError as exc:\n"
        "        print(type(exc).__name__, 'nesting' in str(exc))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["DecodeError True", "DecodeError True"]


class CustomDump(BaseModel):
    name: str

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        return {"custom": self.name}


def test_models_convert_like_model_dump() -> None:
    """The shortcut past model_dump writes the same value, and an override of it still wins."""
    item = Item(name="a", price=decimal.Decimal("1.50"))
    assert to_primitive(item) == item.model_dump(mode="json")
    assert to_primitive(CustomDump(name="x")) == {"custom": "x"}
    assert JsonSerializer().encode([item, CustomDump(name="x")]) == (
        b'[{"name":"a","price":"1.50"},{"custom":"x"}]'
    )


@dataclasses.dataclass
class Reading:
    value: float


class Measurement(BaseModel):
    readings: list[float]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (float("nan"), "<root>"),
        ([1.0, float("inf")], "1"),
        ({"a": {"b": (2.0, float("-inf"))}}, "a.b.1"),
        (Reading(float("nan")), "value"),
        ({"m": Measurement(readings=[1.0, float("nan")])}, "m.readings.1"),
        # a None makes a `null` too: the search must look past it, into converted values
        ([None, {"x": None, "y": [Reading(float("inf"))]}], "1.y.0.value"),
    ],
)
def test_json_refuses_nan_and_infinities_instead_of_writing_null(value: Any, where: str) -> None:
    with pytest.raises(EncodeError, match=f"json: {re.escape(where)}: NaN and infinities"):
        JsonSerializer().encode(value)


def test_json_still_writes_null_for_none_and_msgpack_carries_nan_exactly() -> None:
    assert JsonSerializer().encode([None, 1.5, "null"]) == b'[null,1.5,"null"]'
    nested = {"a": None, "r": Reading(1.5), "t": (None, 2.5), "m": Measurement(readings=[0.5])}
    assert JsonSerializer().encode(nested) == (
        b'{"a":null,"r":{"value":1.5},"t":[null,2.5],"m":{"readings":[0.5]}}'
    )
    unpacked = MsgpackSerializer().decode(MsgpackSerializer().encode([float("nan"), -math.inf]))
    assert math.isnan(unpacked[0]) and unpacked[1] == -math.inf


@pytest.mark.parametrize(
    "literal",
    [b"18446744073709551616", b"-9223372036854775809", b"123456789012345678901234567890"],
)
def test_json_integers_beyond_64_bits_are_refused_not_rounded(literal: bytes) -> None:
    for text in (literal, b'{"n":[' + literal + b"]}", b'["' + b"9" * 30 + b'",' + literal + b"]"):
        with pytest.raises(DecodeError, match="outside the 64-bit range"):
            JsonSerializer().decode(text)


def test_json_integers_inside_the_range_and_long_non_integers_are_read_exactly() -> None:
    json_ = JsonSerializer()
    edges = b"[18446744073709551615,-9223372036854775808,9223372036854775807]"
    assert json_.decode(edges) == [2**64 - 1, -(2**63), 2**63 - 1]
    assert json_.decode(b'["18446744073709551616"]') == ["18446744073709551616"]
    assert json_.decode(b'{"18446744073709551616":1}') == {"18446744073709551616": 1}
    assert json_.decode(b"[0.18446744073709551616]") == [0.18446744073709551616]
    assert json_.decode(b"[1.5e-18446744073709551616]") == [0.0]
    assert json_.decode(b"[18446744073709551616.0]") == [18446744073709551616.0]
    assert json_.encode(2**64 - 1) == b"18446744073709551615"
    with pytest.raises(EncodeError):
        json_.encode(2**64)
