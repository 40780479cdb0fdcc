"""Call, CallSchema, ResultSchema and SchemaSerializer (pydantic 2)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest
from pydantic import BaseModel

from serializers import (
    Call,
    CallSchema,
    DecodeError,
    DecodePolicy,
    EncodeError,
    ResultSchema,
    SchemaError,
    SchemaSerializer,
    ValidationFailed,
    decode,
    encode,
)


class LineItem(BaseModel):
    sku: str
    price: decimal.Decimal


class Order(BaseModel):
    id: uuid.UUID
    items: list[LineItem]


def place(order: Order, when: dt.datetime, /, note: str = "", *, rush: bool = False) -> int:
    return len(order.items)


def flexible(first: int, *rest: decimal.Decimal, label: str, **extra: dt.date) -> None:
    return None


def untyped(a, b=2):  # type: ignore[no-untyped-def]
    return a


ORDER_WIRE = {
    "id": "12345678-1234-5678-1234-567812345678",
    "items": [{"sku": "a", "price": "1.50"}, {"sku": "b", "price": "2"}],
}


def test_call_wire_shape() -> None:
    assert Call([1, 2], {"a": 1}).args == (1, 2)  # type: ignore[arg-type]
    assert Call.from_wire({"args": [1], "kwargs": {"k": 2}}) == Call((1,), {"k": 2})
    assert Call((1,), {"k": 2}).to_wire() == {"args": [1], "kwargs": {"k": 2}}
    for bad in (
        [1],
        {"args": []},
        {"args": [], "kwargs": {}, "x": 1},
        {"args": "abc", "kwargs": {}},
        {"args": [], "kwargs": []},
    ):
        with pytest.raises(ValidationFailed) as caught:
            Call.from_wire(bad)
        assert caught.value.errors[0]["type"] == "call_shape"
    with pytest.raises(ValidationFailed):
        Call((), {1: 2})  # type: ignore[dict-item]
    with pytest.raises(ValidationFailed):
        Call.from_wire({"args": [], "kwargs": {b"bytes-key": 1}})


@pytest.mark.parametrize("name", ["json", "msgpack"])
def test_call_travels_as_the_wire_shape(name: str) -> None:
    blob = encode(Call((1, "a"), {"k": None}), name)
    wire = decode(blob).value
    assert wire == {"args": [1, "a"], "kwargs": {"k": None}}
    assert Call.from_wire(wire) == Call((1, "a"), {"k": None})


def test_call_schema_coerces_json_values_back() -> None:
    schema = CallSchema.from_function(place)
    call = schema.validate(
        {"args": [ORDER_WIRE, "2024-05-06T07:08:09Z"], "kwargs": {"note": "n", "rush": "true"}}
    )
    order, when = call.args
    assert isinstance(order, Order) and order.items[0].price == decimal.Decimal("1.50")
    assert isinstance(order.id, uuid.UUID)
    assert when == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    assert call.kwargs == {"note": "n", "rush": True}
    assert place(*call.args, **call.kwargs) == 2


def test_call_schema_error_locations() -> None:
    schema = CallSchema.from_function(place)
    bad_order = {**ORDER_WIRE, "items": [{"sku": "a", "price": "1"}, {"sku": "b", "price": "x"}]}
    with pytest.raises(ValidationFailed) as caught:
        schema.validate(Call((bad_order, "not a date"), {"rush": "maybe"}))
    locs = {e["loc"] for e in caught.value.errors}
    assert locs == {"args.0.items.1.price", "args.1", "kwargs.rush"}
    assert "args.0.items.1.price" in str(caught.value)


def test_binding_errors_like_python() -> None:
    schema = CallSchema.from_function(place)
    day = "2024-01-01"
    cases: list[tuple[Call, str, str]] = [
        (Call((), {}), "args.order", "missing_argument"),
        (Call((ORDER_WIRE, day, "n", True), {}), "args.3", "unexpected_positional_argument"),
        (Call((ORDER_WIRE, day), {"zzz": 1}), "kwargs.zzz", "unexpected_keyword_argument"),
        (Call((ORDER_WIRE, day), {"order": 1}), "kwargs.order", "unexpected_keyword_argument"),
        (Call((ORDER_WIRE, day, "n"), {"note": "m"}), "kwargs.note", "multiple_argument_values"),
    ]
    for call, loc, kind in cases:
        with pytest.raises(ValidationFailed) as caught:
            schema.validate(call)
        assert {"loc": loc, "type": kind} in [
            {"loc": e["loc"], "type": e["type"]} for e in caught.value.errors
        ], caught.value.errors


def test_var_positional_and_var_keyword() -> None:
    schema = CallSchema.from_function(flexible)
    call = schema.validate(Call(("1", "2.5", "3"), {"label": "x", "d1": "2024-02-03"}))
    assert call.args == (1, decimal.Decimal("2.5"), decimal.Decimal("3"))
    assert call.kwargs == {"label": "x", "d1": dt.date(2024, 2, 3)}
    with pytest.raises(ValidationFailed) as caught:
        schema.validate(Call((1, "1.5", "bad"), {"label": "x", "d2": "nope"}))
    assert {e["loc"] for e in caught.value.errors} == {"args.2", "kwargs.d2"}
    with pytest.raises(ValidationFailed, match=r"kwargs\.label"):
        schema.validate(Call((1,), {}))


def test_untyped_function_binds_without_coercion_and_schema_is_cached() -> None:
    schema = CallSchema.from_function(untyped)
    assert schema is CallSchema.from_function(untyped)
    assert schema.validate(Call(("x",), {})) == Call(("x",), {})
    with pytest.raises(ValidationFailed):
        schema.validate(Call((), {"b": 1}))


def test_partial_and_lambda_schemas() -> None:
    import functools

    schema = CallSchema.from_function(functools.partial(flexible, 1))
    assert schema.validate(Call(("2.5",), {"label": "x"})).args == (decimal.Decimal("2.5"),)
    assert CallSchema.from_function(lambda x: x).validate(Call((1,), {})) == Call((1,), {})


def test_result_schema() -> None:
    result = ResultSchema.from_function(place)
    assert result.validate("3") == 3
    with pytest.raises(ValidationFailed) as caught:
        result.validate("three")
    assert caught.value.errors[0]["loc"] == "result"
    assert ResultSchema.from_function(untyped).validate(object) is object


def test_schema_serializer_model_round_trip_through_envelope() -> None:
    serializer = SchemaSerializer(Order, "shop.Order", version=2)
    order = Order.model_validate(ORDER_WIRE)
    blob = encode(order, serializer)
    assert blob.startswith(b"GME/1 ct=application/json schema=shop.Order@2\n")
    decoded = decode(blob, serializer=serializer)
    assert decoded.value == order and decoded.schema == "shop.Order@2"
    assert decode(blob).value == {**ORDER_WIRE, "items": [dict(i) for i in ORDER_WIRE["items"]]}
    with pytest.raises(ValidationFailed) as caught:
        encode({"id": "nope", "items": []}, serializer)
    assert caught.value.errors[0]["loc"] == "id"
    with pytest.raises(ValidationFailed):
        decode(b"GME/1 ct=application/json\n" + b'{"id": 1}', serializer=serializer)
    with pytest.raises(DecodeError):
        decode(b"GME/1 ct=application/json\n{", serializer=serializer)


def test_readme_examples_arrive_with_their_types() -> None:
    as_dict = SchemaSerializer(dict[str, str])
    as_decimal = SchemaSerializer(decimal.Decimal)
    value = {"foo": "becomes", "this": "dict"}
    assert decode(encode(value, as_dict), serializer=as_dict).value == value
    readme_decimal = decimal.Decimal(1.0)  # noqa: RUF032  # the README's own example
    got = decode(encode(readme_decimal, as_decimal), serializer=as_decimal).value
    assert got == readme_decimal and isinstance(got, decimal.Decimal)
    assert as_dict.schema_field == "dict[str,str]@1"
    assert as_decimal.schema_field == "decimal.Decimal@1"


def test_schema_serializer_for_function_signature() -> None:
    serializer = SchemaSerializer(place, "shop.place")
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    blob = encode(Call((Order.model_validate(ORDER_WIRE), when), {"rush": True}), serializer)
    decoded = decode(blob, serializer=serializer).value
    assert isinstance(decoded, Call) and decoded.args[1] == when
    assert decoded.kwargs == {"rush": True}
    with pytest.raises(ValidationFailed):
        encode(Call((), {}), serializer)


def test_schema_construction_errors() -> None:
    def broken(x: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    with pytest.raises(SchemaError):
        CallSchema.from_function(broken)
    with pytest.raises(SchemaError):
        SchemaSerializer(int, "has space")
    with pytest.raises(SchemaError):
        SchemaSerializer(int, version=-1)

    class Opaque:
        pass

    with pytest.raises(SchemaError):
        SchemaSerializer(Opaque)


def test_schema_bytes_that_cannot_be_json_are_encode_errors() -> None:
    serializer = SchemaSerializer(bytes, "raw")
    with pytest.raises(EncodeError):
        encode(b"\xff\xfe", serializer)


def test_validation_failed_is_policy_independent() -> None:
    serializer = SchemaSerializer(list[int], "ints")
    blob = encode([1, 2], serializer)
    assert decode(blob, DecodePolicy(accept={"application/json"}), serializer=serializer).value == [
        1,
        2,
    ]
