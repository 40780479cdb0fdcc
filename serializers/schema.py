"""Typed payloads with pydantic 2: job calls (`Call`, `CallSchema`), results and schemas.

A job call travels as `{"args": [...], "kwargs": {...}}`. `CallSchema` binds it to a function's
signature the way Python does (positional-only, keyword-only, *args, **kwargs) and coerces each
argument to its annotation, so JSON strings arrive as datetime, Decimal, UUID or models again.
Validators are built once per function (and cached), never per call.
"""

from __future__ import annotations

import functools
import inspect
import operator
import threading
import types
import typing
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    PydanticSchemaGenerationError,
    PydanticUserError,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import (
    ArgsKwargs,
    PydanticSerializationError,
    SchemaValidator,
    core_schema,
)
from pydantic_core import SchemaError as PydanticCoreSchemaError

from serializers.builtin import JsonSerializer, refuse_non_finite
from serializers.errors import (
    DecodeError,
    EncodeError,
    ErrorDetail,
    SchemaError,
    ValidationFailed,
    describe,
)

__all__ = ["Call", "CallSchema", "ResultSchema", "SchemaSerializer", "validation_details"]

_JSON = JsonSerializer()
_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)
_BY_KEYWORD = (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)
_MODES: dict[Any, Any] = {
    _P.POSITIONAL_ONLY: "positional_only",
    _P.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    _P.KEYWORD_ONLY: "keyword_only",
}


_STANDARD_MODEL_DUMP = BaseModel.model_dump


def _dump_check(annotation: Any) -> Callable[[Any], bool] | None:
    """For a parameter annotation that holds models: a test that a value dumps, with pydantic's
    serializer for that annotation in JSON mode, to the same JSON value as the json and msgpack
    serializers write (`to_primitive`: `model_dump(mode="json")` per model, orjson around it).

    Only models (of exactly the annotated class, not overriding `model_dump`) inside `list[...]`,
    `dict[str, ...]` and `... | None` qualify: everything inside a model is pydantic's in both
    ways, while a bare datetime, a set, a subclass instance or an `Annotated` serializer is
    written differently. Reads the annotation with `typing` only. None: it does not qualify.
    """
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None:
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        if getattr(annotation, "model_dump", None) is not _STANDARD_MODEL_DUMP:
            return None
        return lambda value: type(value) is annotation
    if (
        origin in (typing.Union, types.UnionType)
        and len(arguments) == 2
        and type(None) in arguments
    ):
        inner = _dump_check(next(a for a in arguments if a is not type(None)))
        if inner is None:
            return None
        return lambda value: value is None or inner(value)
    if origin is list and len(arguments) == 1:
        item = _dump_check(arguments[0])
        if item is None:
            return None
        return lambda value: type(value) is list and all(map(item, value))
    if origin is dict and len(arguments) == 2 and arguments[0] is str:
        entry = _dump_check(arguments[1])
        if entry is None:
            return None
        return lambda value: (
            type(value) is dict
            and all(type(key) is str and entry(item) for key, item in value.items())
        )
    return None


@dataclass(frozen=True, slots=True)
class _Dumper:
    """Writes one parameter's value in JSON form with pydantic, where that changes nothing."""

    check: Callable[[Any], bool]
    adapter: TypeAdapter[Any]

    def __call__(self, value: Any) -> Any:
        if self.check(value):
            return self.adapter.dump_python(value, mode="json")
        return value  # left to the serializer's own conversion (to_primitive)


def _dumper(annotation: Any) -> _Dumper | None:
    check = _dump_check(annotation)
    return None if check is None else _Dumper(check, TypeAdapter(annotation))


def _shape_error(loc: str, msg: str) -> ValidationFailed:
    return ValidationFailed.from_details([{"loc": loc, "msg": msg, "type": "call_shape"}], "call")


@dataclass(frozen=True, slots=True)
class Call:
    """The value of a job submission: positional and keyword arguments.

    On the wire: `{"args": [...], "kwargs": {...}}` (json/msgpack); pickle keeps the object.
    """

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.args, tuple):
            if isinstance(self.args, str | bytes) or not isinstance(self.args, Sequence):
                raise _shape_error("args", f"args must be a sequence, got {describe(self.args)}")
            object.__setattr__(self, "args", tuple(self.args))
        _check_keywords(self.kwargs)

    @classmethod
    def from_wire(cls, value: Any) -> Call:
        """Check the wire shape (see `wire_arguments`) and build a Call."""
        if isinstance(value, Call):
            return value
        return cls(*wire_arguments(value))

    def to_wire(self) -> dict[str, Any]:
        """The plain-data form sent in json and msgpack bodies."""
        return {"args": list(self.args), "kwargs": dict(self.kwargs)}


def wire_arguments(value: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments of a call's wire form, its shape checked: exactly
    the keys args and kwargs, args an array, kwargs an object with str keys. A worker calls the
    job with them, with no `Call` built in between."""
    # exact types first: the abstract-class tests are slow, and every call is a plain dict
    if type(value) is not dict and not isinstance(value, Mapping):
        raise _shape_error(
            "", f'a job call is {{"args": [...], "kwargs": {{...}}}}, got {describe(value)}'
        )
    if len(value) != 2 or "args" not in value or "kwargs" not in value:
        raise _shape_error(
            "",
            f"a job call has exactly the keys args and kwargs; got {sorted(map(str, value))[:10]}",
        )
    args, kwargs = value["args"], value["kwargs"]
    if type(args) is not list and not isinstance(args, list | tuple):
        raise _shape_error("args", f"args must be a list, got {describe(args)}")
    _check_keywords(kwargs)
    return tuple(args), kwargs if type(kwargs) is dict else dict(kwargs)


def _check_keywords(kwargs: object) -> None:
    """A call's keyword arguments are an object (a mapping) with str keys."""
    # a dict is checked without the (slower) abstract-class test: the usual case
    if type(kwargs) is not dict and not isinstance(kwargs, Mapping):
        raise _shape_error("kwargs", f"kwargs must be an object, got {describe(kwargs)}")
    if kwargs and not all(isinstance(key, str) for key in kwargs):
        bad = next(key for key in kwargs if not isinstance(key, str))
        raise _shape_error("kwargs", f"keyword names must be str, got {describe(bad)}")


def validation_details(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[ErrorDetail]:
    """pydantic errors as {loc, msg, type} with dotted locations (input values left out)."""
    return [
        {
            "loc": ".".join(str(part) for part in (*prefix, *error["loc"])),
            "msg": error["msg"],
            "type": error["type"],
        }
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _annotated_callable(fn: Any) -> Any:
    """The object that carries the annotations: the wrapped function of a partial, the
    `__call__` method of a callable instance."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isroutine(fn) or isinstance(fn, type):
        return fn
    call_method = type(fn).__dict__.get("__call__") if callable(fn) else None
    return call_method if call_method is not None else fn


def _resolve_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(_annotated_callable(fn), include_extras=True)
    except Exception as exc:  # NameError for unresolvable forward references, TypeError, ...
        raise SchemaError(f"cannot resolve the annotations of {_qualname(fn)}: {exc}") from exc


def _qualname(obj: Any) -> str:
    obj = _annotated_callable(obj)
    module = getattr(obj, "__module__", None) or "?"
    return f"{module}.{getattr(obj, '__qualname__', None) or getattr(obj, '__name__', repr(obj))}"


def _adapter(annotation: Any, what: str) -> TypeAdapter[Any]:
    try:
        return TypeAdapter(annotation)
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError, NameError) as exc:
        raise SchemaError(f"cannot build a validator for {what}: {exc}") from exc


def _validate_python(adapter: TypeAdapter[Any]) -> Callable[[Any], Any]:
    """`adapter.validate_python` with its defaults, minus its Python-level wrapper (0.1 us a
    call) when the adapter's validator is built."""
    validator = adapter.validator
    return (
        validator.validate_python
        if isinstance(validator, SchemaValidator)
        else adapter.validate_python
    )


class CallSchema:
    """A function's signature as a validator of `Call` values. Build with `from_function`.

    One pydantic-core arguments validator does the binding and the coercion of a whole call in
    a single pass; the slower Python binding below runs only to describe a call that failed.
    """

    _cache: ClassVar[weakref.WeakKeyDictionary[Any, CallSchema]] = weakref.WeakKeyDictionary()
    _cache_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, fn: Callable[..., Any]) -> None:
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"cannot read the signature of {describe(fn)}: {exc}") from exc
        hints = _resolve_hints(fn)
        self.name = _qualname(fn)
        self.parameters = list(signature.parameters.values())
        self._positional = [p for p in self.parameters if p.kind in _POSITIONAL]
        self._by_name = {p.name: p for p in self.parameters}
        self._var_positional = next(
            (p.name for p in self.parameters if p.kind is _P.VAR_POSITIONAL), None
        )
        self._var_keyword = next(
            (p.name for p in self.parameters if p.kind is _P.VAR_KEYWORD), None
        )
        # Where each parameter stands in the signature: errors are reported in this order.
        self._rank = {p.name: index for index, p in enumerate(self.parameters)}
        annotations = [hints.get(p.name, Any) for p in self.parameters]
        self._typed = any(annotation is not Any for annotation in annotations)
        # Per parameter (None: nothing to do), see `to_wire`; filled by `_build_validator`.
        self._dumpers: dict[str, _Dumper | None] = {}
        self._validator = self._build_validator(annotations)
        self.dumps_models = any(self._dumpers.values())
        self._positional_dumpers = [self._dumpers.get(p.name) for p in self._positional]
        self._var_args_dumper = self._dumpers.get(self._var_positional or "")
        self._var_kwargs_dumper = self._dumpers.get(self._var_keyword or "")
        self._keyword_dumpers = {
            p.name: self._dumpers.get(p.name) for p in self.parameters if p.kind in _BY_KEYWORD
        }

    def _build_validator(self, annotations: list[Any]) -> SchemaValidator:
        """One arguments validator for the whole signature (`Any` checks the binding only).

        The per-parameter schemas come from one TypeAdapter of `tuple[A1, A2, ...]`, so models
        used by several parameters share their definitions, exactly as in a single model.
        """
        definitions: list[core_schema.CoreSchema] = []
        if self._typed:
            what = f"the parameters of {self.name}"
            adapter = _adapter(tuple.__class_getitem__(tuple(annotations)), what)
            schema = adapter.core_schema
            if schema["type"] == "definitions":
                definitions = list(schema["definitions"])
                schema = schema["schema"]
            items = schema.get("items_schema") if schema["type"] == "tuple" else None
            if (
                items is None
                or len(items) != len(annotations)
                or schema.get("variadic_item_index") is not None
            ):
                raise SchemaError(f"cannot build a validator for {what}: unsupported annotations")
        else:
            items = [core_schema.any_schema() for _ in annotations]
        parameters: list[core_schema.ArgumentsParameter] = []
        var_args: core_schema.CoreSchema | None = None
        var_kwargs: core_schema.CoreSchema | None = None
        for param, item, annotation in zip(self.parameters, items, annotations, strict=True):
            if self._typed:
                self._dumpers[param.name] = _dumper(annotation)
            if param.kind is _P.VAR_POSITIONAL:
                var_args = item
                continue
            if param.kind is _P.VAR_KEYWORD:
                var_kwargs = item
                continue
            if param.default is not _P.empty:
                # Never used: defaults are left to the function, so anything the caller did not
                # give is dropped from the result (see `validate`).
                item = core_schema.with_default_schema(item, default=None)
            parameters.append(
                core_schema.arguments_parameter(param.name, item, mode=_MODES[param.kind])
            )
        arguments: core_schema.CoreSchema = core_schema.arguments_schema(
            parameters, var_args_schema=var_args, var_kwargs_schema=var_kwargs
        )
        if definitions:
            arguments = core_schema.definitions_schema(arguments, definitions)
        try:
            return SchemaValidator(arguments)
        except PydanticCoreSchemaError as exc:
            raise SchemaError(
                f"cannot build a validator for the parameters of {self.name}: {exc}"
            ) from exc

    @classmethod
    def from_function(cls, fn: Callable[..., Any]) -> CallSchema:
        """The schema of `fn`, built once and cached for plain functions."""
        if inspect.ismethod(fn):
            return cls(fn)
        try:
            cached = cls._cache.get(fn)
        except TypeError:  # not weak-referenceable
            return cls(fn)
        if cached is None:
            cached = cls(fn)
            with cls._cache_lock:
                cls._cache[fn] = cached
        return cached

    def validate(self, call: Call | Mapping[str, Any]) -> Call:
        """Bind and coerce a call; raise ValidationFailed naming every bad or missing argument.

        The result keeps the caller's layout: what was positional stays positional, keywords
        stay keywords in the caller's order, and defaults are not filled in.
        """
        return self.validate_call(Call.from_wire(call))

    def validate_call(self, call: Call) -> Call:
        """`validate` for a `Call` already built (e.g. by `Call.from_wire`); the same `Call`
        back when pydantic coerced nothing (every value came back as the same object)."""
        args, out_kwargs = self.validate_arguments(call.args, call.kwargs)
        if (
            len(args) == len(call.args)
            and all(map(operator.is_, args, call.args))
            and all(out_kwargs[key] is value for key, value in call.kwargs.items())
        ):
            return call
        return Call(args, out_kwargs)

    def validate_arguments(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Bind and coerce the arguments themselves (what a worker calls the job with), in the
        caller's layout: positional stay positional, keywords keep their order, defaults are
        not filled in. Raises ValidationFailed naming every bad or missing argument."""
        if type(kwargs) is not dict:  # pydantic's ArgsKwargs takes a dict
            kwargs = dict(kwargs)
        try:
            out_args, out_kwargs = self._validator.validate_python(ArgsKwargs(args, kwargs))
        except ValidationError as exc:
            errors = self._binding_errors(args, kwargs) or self._argument_errors(exc)
            raise ValidationFailed.from_details(errors, f"call of {self.name}") from exc
        if not self._typed:
            return args, kwargs
        if len(out_args) != len(args):  # defaults of positional-only parameters were appended
            out_args = out_args[: len(args)]
        # The validator returns the parameters first, in signature order, plus their defaults.
        return out_args, {key: out_kwargs[key] for key in kwargs} if kwargs else {}

    def to_wire(self, call: Call) -> dict[str, Any]:
        """The wire form of a validated call for the json and msgpack serializers: the same
        value as `call.to_wire()` once written, without copying the arguments (both write a
        tuple as an array), and with the arguments that hold models already in JSON form.

        pydantic's serializer for the parameter dumps all its models in one pass, several times
        faster than `to_primitive` calling `model_dump` once per model; it is used only where
        the JSON value is the same (see `_dump_check`), the rest is left as it is.
        """
        return self.arguments_to_wire(call.args, call.kwargs)

    def arguments_to_wire(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """`to_wire` for validated arguments themselves (what `validate_arguments` gave)."""
        if not self.dumps_models:
            return {"args": args, "kwargs": kwargs}
        positional = self._positional_dumpers
        args = list(args)
        for index, value in enumerate(args):
            dumper = positional[index] if index < len(positional) else self._var_args_dumper
            if dumper is not None:
                args[index] = dumper(value)
        kwargs = dict(kwargs)
        by_name, var_kwargs = self._keyword_dumpers, self._var_kwargs_dumper
        for key, value in kwargs.items():
            dumper = by_name.get(key, var_kwargs)
            if dumper is not None:
                kwargs[key] = dumper(value)
        return {"args": args, "kwargs": kwargs}

    def _binding_errors(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[ErrorDetail]:
        """Bind the call like Python does and describe what does not fit (nothing if it binds)."""
        errors: list[ErrorDetail] = []
        bound: set[str] = set()
        positional = self._positional
        for index in range(len(args)):
            if index < len(positional):
                bound.add(positional[index].name)
            elif self._var_positional is None:
                errors.append(
                    {
                        "loc": f"args.{index}",
                        "msg": f"unexpected positional argument ({self.name} takes "
                        f"{len(positional)} positional argument(s))",
                        "type": "unexpected_positional_argument",
                    }
                )
        for key in kwargs:
            param = self._by_name.get(key)
            if param is not None and param.kind in _BY_KEYWORD:
                if key in bound:
                    errors.append(
                        {
                            "loc": f"kwargs.{key}",
                            "msg": f"multiple values for argument {key!r}",
                            "type": "multiple_argument_values",
                        }
                    )
                    continue
                bound.add(key)
            elif self._var_keyword is None:
                detail = " (it is positional-only)" if param is not None else ""
                errors.append(
                    {
                        "loc": f"kwargs.{key}",
                        "msg": f"unexpected keyword argument {key!r}{detail}",
                        "type": "unexpected_keyword_argument",
                    }
                )
        for param in self.parameters:
            if (
                param.name not in bound
                and param.default is _P.empty
                and param.kind not in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD)
            ):
                where = "args" if param.kind is _P.POSITIONAL_ONLY else "kwargs"
                errors.append(
                    {
                        "loc": f"{where}.{param.name}",
                        "msg": f"missing required argument {param.name!r}",
                        "type": "missing_argument",
                    }
                )
        return errors

    def _argument_errors(self, exc: ValidationError) -> list[ErrorDetail]:
        """pydantic's errors of a call that binds: `(2, ...)` is `args.2...` and `("k", ...)` is
        `kwargs.k...`, listed in signature order (one parameter's errors keep pydantic's order)."""
        ranked: list[tuple[int, ErrorDetail]] = []
        for error in exc.errors(include_url=False, include_input=False):
            loc = error["loc"]
            head = loc[0] if loc else ""
            if isinstance(head, int):
                where = "args"
                name = (
                    self._positional[head].name
                    if head < len(self._positional)
                    else self._var_positional
                )
            else:
                where = "kwargs"
                param = self._by_name.get(head)
                name = (
                    head if param is not None and param.kind in _BY_KEYWORD else self._var_keyword
                )
            detail: ErrorDetail = {
                "loc": ".".join(str(part) for part in (where, *loc)),
                "msg": error["msg"],
                "type": error["type"],
            }
            ranked.append((self._rank.get(name or "", len(self._rank)), detail))
        ranked.sort(key=lambda pair: pair[0])
        return [detail for _, detail in ranked]


class ResultSchema:
    """A function's return annotation as a validator of its result (Any when unannotated)."""

    def __init__(self, annotation: Any = Any, name: str = "result") -> None:
        self.name = name
        self._adapter = _adapter(annotation, name)
        self._validate_python = _validate_python(self._adapter)

    @classmethod
    def from_function(cls, fn: Callable[..., Any]) -> ResultSchema:
        """Read the return annotation of `fn`."""
        return cls(_resolve_hints(fn).get("return", Any), f"result of {_qualname(fn)}")

    def validate(self, value: Any) -> Any:
        """Coerce the value to the annotation; errors are located like `result.items.0`."""
        try:
            return self._validate_python(value)
        except ValidationError as exc:
            raise ValidationFailed.from_details(
                validation_details(exc, ("result",)), self.name
            ) from exc


def _default_schema_id(schema: Any) -> str:
    if isinstance(schema, type) or inspect.isfunction(schema):
        return _qualname(schema).replace("<locals>.", "")
    return "".join(repr(schema).replace("typing.", "").split())


class SchemaSerializer:
    """JSON validated by a pydantic schema on both ends; sets the envelope `schema=ID@VERSION`.

    `schema`: a BaseModel subclass, any type pydantic can validate (`Decimal`,
    `dict[str, str]`, ...), or a function, whose signature then validates `Call` values.
    """

    content_type: ClassVar[str] = "application/json"
    safe: ClassVar[bool] = True

    def __init__(self, schema: Any, schema_id: str | None = None, version: int = 1) -> None:
        schema_id = schema_id if schema_id is not None else _default_schema_id(schema)
        if not isinstance(version, int) or version < 0:
            raise SchemaError(f"schema version must be a non-negative int, got {version!r}")
        field_value = f"{schema_id}@{version}"
        if not field_value.isascii() or not field_value.isprintable() or " " in field_value:
            raise SchemaError(f"schema id {schema_id!r} must be printable ASCII without spaces")
        self.schema_id = schema_id
        self.version = version
        self.name = f"schema:{field_value}"
        self.schema_field: str | None = field_value
        self._call_schema: CallSchema | None = None
        self._adapter: TypeAdapter[Any] | None = None
        if callable(schema) and not isinstance(schema, type) and not _is_generic_alias(schema):
            self._call_schema = CallSchema.from_function(schema)
        else:
            self._adapter = _adapter(schema, f"schema {schema_id}")

    def __repr__(self) -> str:
        return f"SchemaSerializer({self.schema_field!r})"

    def validate(self, value: Any) -> Any:
        """Coerce a Python value to the schema (a Call, for function schemas)."""
        if self._call_schema is not None:
            return self._call_schema.validate(value)
        assert self._adapter is not None
        try:
            return self._adapter.validate_python(value)
        except ValidationError as exc:
            raise ValidationFailed.from_details(
                validation_details(exc), f"value for schema {self.schema_field}"
            ) from exc

    def encode(self, value: Any) -> bytes:
        """Validate, then write JSON (so a bad value fails at the sender, not the worker)."""
        validated = self.validate(value)
        if self._adapter is None:
            assert self._call_schema is not None
            return _JSON.encode(self._call_schema.to_wire(validated))
        try:
            text = self._adapter.dump_json(validated)
        except PydanticSerializationError as exc:
            raise EncodeError(f"schema {self.schema_field}: {exc}") from exc
        if text.find(b"null") != -1:  # pydantic writes NaN and infinities as null, like orjson
            refuse_non_finite(validated, f"schema {self.schema_field}")
        return text

    def decode(self, data: bytes) -> Any:
        """Parse and validate; invalid JSON is a DecodeError, a schema mismatch ValidationFailed."""
        if self._adapter is None:
            return self.validate(_JSON.decode(data))
        try:
            return self._adapter.validate_json(data)
        except ValidationError as exc:
            details = validation_details(exc)
            if any(d["type"] == "json_invalid" for d in details):
                raise DecodeError(f"schema {self.schema_field}: invalid JSON: {exc}") from exc
            raise ValidationFailed.from_details(
                details, f"value for schema {self.schema_field}"
            ) from exc


def _is_generic_alias(obj: Any) -> bool:
    return typing.get_origin(obj) is not None
