"""Typed payloads with pydantic 2: job calls (`Call`, `CallSchema`), results and schemas.

A job call travels as `{"args": [...], "kwargs": {...}}`. `CallSchema` binds it to a function's
signature the way Python does (positional-only, keyword-only, *args, **kwargs) and coerces each
argument to its annotation, so JSON strings arrive as datetime, Decimal, UUID or models again.
Validators are built once per function (and cached), never per call.
"""

from __future__ import annotations

import functools
import inspect
import threading
import typing
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import PydanticSchemaGenerationError, PydanticUserError, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError
from typing_extensions import TypedDict

from serializers.builtin import JsonSerializer
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


_set_field = object.__setattr__  # builds a frozen Call whose shape is already checked


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
        if not isinstance(self.kwargs, Mapping):
            raise _shape_error("kwargs", f"kwargs must be a mapping, got {describe(self.kwargs)}")
        for key in self.kwargs:
            if not isinstance(key, str):
                raise _shape_error("kwargs", f"keyword names must be str, got {describe(key)}")

    @classmethod
    def from_wire(cls, value: Any) -> Call:
        """Check the wire shape (exactly the keys args and kwargs) and build a Call."""
        if isinstance(value, Call):
            return value
        if type(value) is dict and len(value) == 2:  # fast path: what json/msgpack produce
            args, kwargs = value.get("args"), value.get("kwargs")
            if (
                type(args) is list
                and type(kwargs) is dict
                and all(type(key) is str for key in kwargs)
            ):
                call = object.__new__(cls)
                _set_field(call, "args", tuple(args))
                _set_field(call, "kwargs", kwargs)
                return call
        if not isinstance(value, Mapping):
            raise _shape_error(
                "", f'a job call is {{"args": [...], "kwargs": {{...}}}}, got {describe(value)}'
            )
        keys = set(value)
        if keys != {"args", "kwargs"}:
            raise _shape_error(
                "",
                f"a job call has exactly the keys args and kwargs; got {sorted(map(str, keys))}",
            )
        args, kwargs = value["args"], value["kwargs"]
        if not isinstance(args, list | tuple):
            raise _shape_error("args", f"args must be a list, got {describe(args)}")
        if not isinstance(kwargs, Mapping):
            raise _shape_error("kwargs", f"kwargs must be an object, got {describe(kwargs)}")
        return cls(tuple(args), dict(kwargs))

    def to_wire(self) -> dict[str, Any]:
        """The plain-data form sent in json and msgpack bodies."""
        return {"args": list(self.args), "kwargs": dict(self.kwargs)}


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


class CallSchema:
    """A function's signature as a validator of `Call` values. Build with `from_function`."""

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
        fields: dict[str, Any] = {}
        for param in self.parameters:
            annotation = hints.get(param.name, Any)
            if param.kind is _P.VAR_POSITIONAL:
                annotation = list[annotation]  # type: ignore[valid-type]
            elif param.kind is _P.VAR_KEYWORD:
                annotation = dict[str, annotation]  # type: ignore[valid-type]
            fields[param.name] = annotation
        typed = any(hints.get(p.name, Any) is not Any for p in self.parameters)
        self._adapter: TypeAdapter[Any] | None = None
        if typed:
            params_type = TypedDict(f"{self.name}.params", fields, total=False)  # type: ignore[misc]
            self._adapter = _adapter(params_type, f"the parameters of {self.name}")

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
        """Bind and coerce a call; raise ValidationFailed naming every bad or missing argument."""
        call = Call.from_wire(call)
        errors: list[ErrorDetail] = []
        bound: dict[str, Any] = {}
        origin: dict[str, tuple[Any, ...]] = {}
        positional = self._positional
        extra_args: list[Any] = []
        for index, value in enumerate(call.args):
            if index < len(positional):
                name = positional[index].name
                bound[name] = value
                origin[name] = ("args", index)
            elif self._var_positional is not None:
                extra_args.append(value)
            else:
                errors.append(
                    {
                        "loc": f"args.{index}",
                        "msg": f"unexpected positional argument ({self.name} takes "
                        f"{len(positional)} positional argument(s))",
                        "type": "unexpected_positional_argument",
                    }
                )
        extra_kwargs: dict[str, Any] = {}
        for key, value in call.kwargs.items():
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
                bound[key] = value
                origin[key] = ("kwargs", key)
            elif self._var_keyword is not None:
                extra_kwargs[key] = value
            else:
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
        if errors:
            raise ValidationFailed.from_details(errors, f"call of {self.name}")
        if self._adapter is None:
            return call
        if extra_args:
            bound[self._var_positional] = extra_args  # type: ignore[index]
        if extra_kwargs:
            bound[self._var_keyword] = extra_kwargs  # type: ignore[index]
        try:
            coerced = self._adapter.validate_python(bound)
        except ValidationError as exc:
            details = [
                self._relocate(d, len(call.args) - len(extra_args), origin) for d in exc.errors()
            ]
            raise ValidationFailed.from_details(details, f"call of {self.name}") from exc
        return self._rebuild(call, coerced, origin, extra_args, extra_kwargs)

    def _relocate(
        self, error: Any, first_extra: int, origin: dict[str, tuple[Any, ...]]
    ) -> ErrorDetail:
        """Map a parameter path (name, ...) back to where the caller put it (args.N / kwargs.K)."""
        name, *rest = error["loc"]
        if name == self._var_positional and rest:
            index, *rest = rest
            loc: tuple[Any, ...] = ("args", first_extra + int(index), *rest)
        elif name == self._var_keyword and rest:
            loc = ("kwargs", *rest)
        else:
            loc = (*origin.get(name, (name,)), *rest)
        return {
            "loc": ".".join(str(part) for part in loc),
            "msg": error["msg"],
            "type": error["type"],
        }

    def _rebuild(
        self,
        call: Call,
        coerced: dict[str, Any],
        origin: dict[str, tuple[Any, ...]],
        extra_args: list[Any],
        extra_kwargs: dict[str, Any],
    ) -> Call:
        positional_count = len(call.args) - len(extra_args)
        args = [coerced[p.name] for p in self._positional[:positional_count]]
        if extra_args:
            args.extend(coerced[self._var_positional])  # type: ignore[index]
        coerced_extra = coerced.get(self._var_keyword, {}) if extra_kwargs else {}  # type: ignore[arg-type]
        kwargs = {
            key: coerced[key] if origin.get(key) == ("kwargs", key) else coerced_extra[key]
            for key in call.kwargs
        }
        return Call(tuple(args), kwargs)


class ResultSchema:
    """A function's return annotation as a validator of its result (Any when unannotated)."""

    def __init__(self, annotation: Any = Any, name: str = "result") -> None:
        self.name = name
        self._adapter = _adapter(annotation, name)

    @classmethod
    def from_function(cls, fn: Callable[..., Any]) -> ResultSchema:
        """Read the return annotation of `fn`."""
        return cls(_resolve_hints(fn).get("return", Any), f"result of {_qualname(fn)}")

    def validate(self, value: Any) -> Any:
        """Coerce the value to the annotation; errors are located like `result.items.0`."""
        try:
            return self._adapter.validate_python(value)
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
            return _JSON.encode(validated)
        try:
            return self._adapter.dump_json(validated)
        except PydanticSerializationError as exc:
            raise EncodeError(f"schema {self.schema_field}: {exc}") from exc

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
