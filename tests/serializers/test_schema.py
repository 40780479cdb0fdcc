"""Call, CallSchema, ResultSchema and SchemaSerializer (pydantic 2)."""

from __future__ import annotations

import datetime as dt
import decimal
import inspect
import uuid
from typing import Annotated, Any

import orjson
import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    computed_field,
    field_serializer,
    model_serializer,
)

from serializers import (
    Call,
    CallSchema,
    DecodeError,
    DecodePolicy,
    EncodeError,
    JsonSerializer,
    ResultSchema,
    SchemaError,
    SchemaSerializer,
    ValidationFailed,
    decode,
    encode,
    wire_arguments,
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


def untyped(a, b=2):  # deliberately unannotated
    return a


ORDER_WIRE: dict[str, Any] = {
    "id": "12345678-1234-5678-1234-567812345678",
    "items": [{"sku": "a", "price": "1.50"}, {"sku": "b", "price": "2"}],
}


# Values that are not the wire shape of a call, each refused with a `call_shape` error.
BAD_WIRE_SHAPES: list[object] = [
    [1],
    {"args": []},
    {"args": [], "kwargs": {}, "x": 1},
    {"args": "abc", "kwargs": {}},
    {"args": [], "kwargs": []},
    {"args": [], "kwargs": {b"bytes-key": 1}},
]


def test_call_wire_shape() -> None:
    assert Call([1, 2], {"a": 1}).args == (1, 2)  # type: ignore[arg-type]
    assert Call.from_wire({"args": [1], "kwargs": {"k": 2}}) == Call((1,), {"k": 2})
    assert Call((1,), {"k": 2}).to_wire() == {"args": [1], "kwargs": {"k": 2}}
    for bad in BAD_WIRE_SHAPES:
        with pytest.raises(ValidationFailed) as caught:
            Call.from_wire(bad)
        assert caught.value.errors[0]["type"] == "call_shape"
    with pytest.raises(ValidationFailed):
        Call((), {1: 2})  # type: ignore[dict-item]


def test_wire_arguments_check_the_shape_as_from_wire_does() -> None:
    args, kwargs = wire_arguments({"args": [1, "a"], "kwargs": {"k": 2}})
    assert (args, kwargs) == ((1, "a"), {"k": 2}) and type(args) is tuple
    for bad in BAD_WIRE_SHAPES:
        with pytest.raises(ValidationFailed) as by_parts:
            wire_arguments(bad)
        with pytest.raises(ValidationFailed) as by_call:
            Call.from_wire(bad)
        assert by_parts.value.errors == by_call.value.errors
        assert by_parts.value.errors[0]["type"] == "call_shape"


def test_validate_arguments_binds_and_coerces_in_the_callers_layout() -> None:
    def label(name: str, count: int = 1, *, loud: bool = False) -> str:
        return name * count

    schema = CallSchema.from_function(label)
    assert schema.validate_arguments(("a", 2), {"loud": True}) == (("a", 2), {"loud": True})
    assert schema.validate_arguments(("a",), {}) == (("a",), {})  # no default filled in
    assert schema.validate_arguments(("a", "2"), {}) == (("a", 2), {})
    assert schema.validate_arguments(("a",), {"loud": "yes"}) == (("a",), {"loud": True})
    with pytest.raises(ValidationFailed) as caught:
        schema.validate_arguments((), {"nope": 1})
    assert {error["type"] for error in caught.value.errors} == {
        "unexpected_keyword_argument",
        "missing_argument",
    }


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


def test_a_call_that_needs_no_coercion_is_returned_as_it_is() -> None:
    def label(name: str, count: int = 1, *, loud: bool = False) -> str:
        return name * count

    schema = CallSchema.from_function(label)
    exact = Call(("a", 2), {"loud": True})
    assert schema.validate_call(exact) is exact
    coerced = schema.validate_call(Call(("a", "2"), {"loud": "yes"}))
    assert coerced is not exact and coerced == Call(("a", 2), {"loud": True})
    only_keyword_changed = Call(("a", 2), {"loud": "true"})
    assert schema.validate_call(only_keyword_changed).kwargs == {"loud": True}


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


# -- the one-pass validator: same binding as Python, same result layout, same error order ------

BINDING_SIGNATURES = [
    "(a, b=1, /, c=2, *rest, d, e=5, **kw)",
    "(a, /, b, *, c=3)",
    "(a=1, b=2)",
    "(*rest, **kw)",
    "(a, /, **kw)",
    "()",
]
BINDING_NAMES = ("a", "b", "c", "d", "e", "z")


def _calls() -> list[Call]:
    calls = []
    for count in range(5):
        for mask in range(2 ** len(BINDING_NAMES)):
            names = [n for i, n in enumerate(BINDING_NAMES) if mask >> i & 1]
            kwargs = {name: str(10 + i) for i, name in enumerate(reversed(names))}
            calls.append(Call(tuple(str(i) for i in range(count)), kwargs))
    return calls


@pytest.mark.parametrize("typed", [False, True], ids=["untyped", "typed"])
@pytest.mark.parametrize("params", BINDING_SIGNATURES)
def test_binding_matches_python(params: str, typed: bool) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def python{params}: pass", namespace)  # the reference: Python's own binding
    python = namespace["python"]
    if typed:  # every parameter an int: "10" must arrive as 10
        python.__annotations__ = dict.fromkeys(inspect.signature(python).parameters, int)
    schema = CallSchema(python)
    for call in _calls():
        try:
            python(*call.args, **call.kwargs)
        except TypeError:
            with pytest.raises(ValidationFailed) as caught:
                schema.validate(call)
            assert caught.value.errors, call
            continue
        result = schema.validate(call)
        expected = (
            Call(tuple(map(int, call.args)), {k: int(v) for k, v in call.kwargs.items()})
            if typed
            else call
        )
        # positional stays positional, keywords keep the caller's order, no defaults filled in
        assert result == expected, call
        assert list(result.kwargs) == list(call.kwargs), call


def test_result_layout_and_untyped_identity() -> None:
    schema = CallSchema.from_function(place)
    call = schema.validate(Call((ORDER_WIRE, "2024-01-01"), {"rush": "1", "note": "n"}))
    assert len(call.args) == 2 and list(call.kwargs) == ["rush", "note"]
    assert (
        CallSchema.from_function(place).validate(Call((ORDER_WIRE, "2024-01-01"), {})).kwargs == {}
    )
    untyped_call = Call(("x",), {"b": 1})
    assert CallSchema.from_function(untyped).validate(untyped_call) is untyped_call
    # the typed API hands over a tuple: no copy on the way in
    args = ("1", "2.5")
    assert Call.from_wire({"args": args, "kwargs": {}}).args is args


def test_errors_in_signature_order_and_binding_errors_alone() -> None:
    schema = CallSchema.from_function(flexible)
    with pytest.raises(ValidationFailed) as caught:
        schema.validate(Call(("x", "1", "bad"), {"d2": "nope", "label": ["not", "str"]}))
    assert [e["loc"] for e in caught.value.errors] == [
        "args.0",
        "args.2",
        "kwargs.label",
        "kwargs.d2",
    ]
    assert "label" in str(caught.value)
    # a call that does not bind reports the binding only, not the values
    with pytest.raises(ValidationFailed) as caught:
        CallSchema.from_function(place).validate(Call(("bad order",), {"rush": "maybe"}))
    assert caught.value.errors == [
        {"loc": "args.when", "msg": "missing required argument 'when'", "type": "missing_argument"}
    ]


class Node(BaseModel):
    value: int
    children: list[Node] = []


def shared(a: Node, b: Node, /, *more: Node, **named: LineItem) -> None:
    return None


def test_models_shared_between_parameters_and_positional_only_names_in_kwargs() -> None:
    schema = CallSchema.from_function(shared)
    call = schema.validate(
        Call(
            ({"value": "1", "children": [{"value": 2}]}, {"value": 3}, {"value": 4}),
            {"a": {"sku": "s", "price": "1"}},
        )
    )
    assert call.args[0].children[0].value == 2 and call.args[2] == Node(value=4)
    assert call.kwargs == {"a": LineItem(sku="s", price=decimal.Decimal(1))}  # a is in **named
    with pytest.raises(ValidationFailed) as caught:
        schema.validate(Call(({"value": 1, "children": [{"value": "x"}]}, {"value": 3}, {}), {}))
    assert [e["loc"] for e in caught.value.errors] == ["args.0.children.0.value", "args.2.value"]


class Stamped(BaseModel):
    """Model features whose JSON form is pydantic's own: aliases, serializers, computed fields."""

    model_config = ConfigDict(populate_by_name=True)

    label: str = Field(alias="Label")
    at: dt.datetime
    tags: set[str] = set()
    amount: decimal.Decimal = decimal.Decimal("0")
    child: Node | None = None

    @field_serializer("tags")
    def _sorted_tags(self, tags: set[str]) -> list[str]:
        return sorted(tags, reverse=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def size(self) -> int:
        return len(self.label)


class Wrapped(BaseModel):
    inner: Stamped

    @model_serializer
    def _as_pair(self) -> dict[str, Any]:
        return {"pair": [self.inner.label, 1]}


class StampedPlus(Stamped):
    extra: int = 7


class OwnDump(BaseModel):
    value: int

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        return {"own": self.value}


def model_heavy(
    items: list[Stamped],
    maybe: Stamped | None,
    /,
    by_key: dict[str, Wrapped],
    when: dt.datetime,
    *more: Node,
    own: list[OwnDump],
    tags: set[str],
    **named: Stamped,
) -> None:
    return None


def _reference_default(value: Any) -> Any:
    """The json serializer's conversion, model_dump and all, as it was before the shortcuts."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    from serializers.builtin import _json_default

    return _json_default(value)


def test_models_dumped_by_the_parameter_serializer_keep_the_wire_bytes() -> None:
    """Arguments holding models are dumped in one pass of pydantic's serializer: the bytes are
    those of model_dump per model; values it would write differently (a subclass instance, an
    own model_dump, a bare datetime or set) are left to the json serializer."""
    utc = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    stamped = {"Label": "x", "at": "2024-01-02T03:04:05Z", "tags": ["b", "a"], "amount": "1.50"}
    nested = {**stamped, "child": {"value": 1, "children": [{"value": 2}]}}
    serializer = SchemaSerializer(model_heavy, "heavy")
    calls = [
        Call(
            ([stamped, nested], nested),
            {
                "by_key": {"k": {"inner": stamped}},
                "when": utc,
                "own": [{"value": 3}],
                "tags": {"z", "a"},
                "named": nested,
            },
        ),
        Call(
            ([Stamped.model_validate(stamped), StampedPlus.model_validate(nested)], None),
            {"by_key": {}, "when": utc, "own": [], "tags": set(), "z": stamped},
        ),
        Call(
            ([], StampedPlus.model_validate(stamped), {}, utc, {"value": 5}, Node(value=6)),
            {"own": [OwnDump(value=4)], "tags": {"t"}},
        ),
    ]
    schema = CallSchema.from_function(model_heavy)
    assert schema.dumps_models
    for call in calls:
        validated = schema.validate(call)
        expected = orjson.dumps(validated.to_wire(), default=_reference_default)
        assert serializer.encode(call) == expected
        assert orjson.dumps(schema.to_wire(validated), default=_reference_default) == expected
    dumped = schema.to_wire(schema.validate(calls[0]))
    assert all(type(item) is dict for item in dumped["args"][0])  # in one pass by pydantic
    assert type(dumped["kwargs"]["by_key"]["k"]) is dict and type(dumped["args"][1]) is dict
    subclassed = schema.to_wire(schema.validate(calls[1]))
    assert isinstance(subclassed["args"][0][1], StampedPlus)  # left to model_dump: keeps extra
    assert b'"2024-01-02T03:04:05.678000+00:00"' in serializer.encode(calls[0])  # bare datetime


def test_schemas_without_models_dump_nothing() -> None:
    assert not CallSchema.from_function(flexible).dumps_models
    assert not CallSchema.from_function(untyped).dumps_models
    call = Call((1, "2.5"), {"label": "l", "day": "2024-01-01"})
    schema = CallSchema.from_function(flexible)
    wire, json = schema.to_wire(schema.validate(call)), JsonSerializer()
    assert json.encode(wire) == json.encode(schema.validate(call).to_wire())


Upper = Annotated[str, PlainSerializer(str.upper)]


def test_parameters_with_serializers_of_their_own_are_left_to_the_json_serializer() -> None:
    """A custom serializer outside a model would be applied by pydantic but not by orjson."""

    def keyed(
        a: dict[Upper, Node], b: dict[str, Node], c: Annotated[Node, PlainSerializer(str)]
    ) -> None:
        return None

    schema = CallSchema.from_function(keyed)
    assert [name for name, dumper in schema._dumpers.items() if dumper is not None] == ["b"]


class Sample(BaseModel):
    level: float


def record(sample: Sample, factor: float = 1.0) -> None:
    return None


def test_schema_serializers_refuse_nan_instead_of_writing_null() -> None:
    cases: list[tuple[SchemaSerializer, Any, str]] = [
        (SchemaSerializer(Sample), Sample(level=float("nan")), "level"),
        (SchemaSerializer(list[float]), [1.0, float("inf")], "1"),
        (
            SchemaSerializer(record),
            Call((Sample(level=1.0),), {"factor": float("nan")}),
            "kwargs.factor",
        ),
        (SchemaSerializer(record), Call(({"level": float("-inf")},), {}), "args.0.level"),
    ]
    for serializer, value, where in cases:
        with pytest.raises(EncodeError, match=f"{where}: NaN and infinities"):
            encode(value, serializer)
    assert encode(None, SchemaSerializer(float | None)).endswith(b"\nnull")
