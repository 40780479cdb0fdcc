"""The built-in serializers: json (orjson), msgpack, pickle (unsafe), text and bytes.

json and msgpack share one conversion table for values they have no native form for (see
`to_primitive` and docs/serializers.md), so the two language-neutral formats agree on what a
receiver gets. JSON carries what it can exactly or refuses it: no bytes, no NaN or infinities
(orjson would write null), no integer beyond 64 bits either way (orjson would read it rounded).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
import pickle
import re
import uuid
from typing import Any, ClassVar

import msgpack
import orjson
from pydantic import BaseModel

from serializers.errors import DecodeError, EncodeError, describe

__all__ = [
    "JSON_INT_MAX",
    "JSON_INT_MIN",
    "JSON_MAX_DEPTH",
    "BytesSerializer",
    "JsonSerializer",
    "MsgpackSerializer",
    "PickleSerializer",
    "TextSerializer",
    "to_primitive",
]

#: Deepest JSON nesting accepted: orjson's own limit since 3.9.15 (the required version), which
#: refuses level 1025 without recursing further. Older orjson recursed without a limit and
#: crashed the process on a few hundred thousand `[`.
JSON_MAX_DEPTH = 1024


def _sorted_if_possible(items: set[Any] | frozenset[Any]) -> list[Any]:
    """Sets have no order; sort them when we can so equal sets encode to equal bytes."""
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def to_primitive(value: Any, *, datetimes: bool = True) -> Any:
    """Convert one value json/msgpack cannot write natively into one they can (one level deep).

    Called by orjson and msgpack as their `default` hook, so nested values come back here.
    Raises TypeError for anything else; the serializer wraps it in an EncodeError.
    """
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return _sorted_if_possible(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if datetimes and isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot serialize {type(value).__qualname__} value {describe(value)}")


_BYTES_HINT = (
    "json cannot carry bytes; use the msgpack serializer (bytes are native there) "
    "or encode them yourself (e.g. base64) into a str"
)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(_BYTES_HINT)
    return to_primitive(value)


#: The JSON integer range, both ways: what orjson writes (and refuses beyond) and what a reader
#: must give back exactly. A literal outside it is refused on decode rather than rounded.
JSON_INT_MIN = -(2**63)
JSON_INT_MAX = 2**64 - 1
# Digits become 1, everything else 0: a run of 19 ones is the cheap sign (memchr-speed) that a
# body may hold an integer beyond 64 bits (every one of them has at least 19 digits).
_DIGIT_MAP = bytes(1 if 0x30 <= byte <= 0x39 else 0 for byte in range(256))
_LONG_DIGIT_RUN = b"\x01" * 19
# A JSON string (with escapes), removed before looking for integer literals inside the text.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# An integer literal of 19 digits or more: not part of a fraction, an exponent or a longer run.
_LONG_INTEGER = re.compile(rb"(?<![0-9.eE+-])-?[0-9]{19,}(?![0-9.eE])")


def _integer_out_of_range(data: bytes) -> bytes | None:
    """The first integer literal outside [JSON_INT_MIN, JSON_INT_MAX] in a JSON text, if any.

    orjson reads such a literal as a float, silently rounding it; this finds it so the json
    serializer can refuse it.
    """
    for match in _LONG_INTEGER.finditer(_JSON_STRING.sub(b'""', data)):
        if not JSON_INT_MIN <= int(match.group()) <= JSON_INT_MAX:
            return match.group()
    return None


# Values that hold no float: the NaN search skips them.
_NO_FLOAT_INSIDE = (str, bytes, int, type(None), decimal.Decimal)


def _holds_non_finite(value: Any) -> bool:
    """Whether a NaN or an infinity sits anywhere in `value`: the search without the paths.

    Every JSON text with a `null` is searched (orjson writes NaN as null, and None too), so
    this must cost about what orjson's own walk does; the paths are built only for the error.
    """
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, _NO_FLOAT_INSIDE):
            continue
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            try:
                stack.append(to_primitive(item))
            except TypeError:
                continue
    return False


def non_finite_float_path(value: Any) -> str | None:
    """Where a NaN or an infinity sits in `value` ("args.0.price"), or None if there is none.

    Follows the conversions the json serializer applies (`to_primitive`: models, dataclasses,
    tuples, sets ...). Iterative, so a deep value cannot exhaust the stack.
    """
    if not _holds_non_finite(value):
        return None
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return where or "<root>"
            continue
        if isinstance(item, _NO_FLOAT_INSIDE):
            continue
        if isinstance(item, dict):
            stack.extend((child, f"{where}.{key}".lstrip(".")) for key, child in item.items())
            continue
        if isinstance(item, list):
            stack.extend(
                (child, f"{where}.{index}".lstrip(".")) for index, child in enumerate(item)
            )
            continue
        try:
            converted = to_primitive(item)
        except TypeError:
            continue
        stack.append((converted, where))
    return None


class JsonSerializer:
    """`application/json` via orjson. Decimal, UUID -> str; set, tuple -> list; bytes refused."""

    name: ClassVar[str] = "json"
    content_type: ClassVar[str] = "application/json"
    safe: ClassVar[bool] = True
    schema_field: ClassVar[str | None] = None

    def encode(self, value: Any) -> bytes:
        """Serialize with orjson; values orjson cannot write go through `to_primitive`."""
        try:
            text = orjson.dumps(value, default=_json_default)
        except orjson.JSONEncodeError as exc:
            # orjson does not chain the error raised by `default`; restore our hint for bytes.
            hint = f"; {_BYTES_HINT}" if "bytes" in str(exc) else ""
            raise EncodeError(f"json: {exc}{hint}") from exc
        # orjson writes NaN and infinities as null: look for them (`find`, not `in`: on a short
        # text the operator costs twice the search itself)
        if text.find(b"null") != -1:
            refuse_non_finite(value, "json")
        return text

    def decode(self, data: bytes) -> Any:
        """Parse with orjson, which refuses nesting deeper than `JSON_MAX_DEPTH` by itself;
        an integer literal beyond the 64-bit range is refused instead of read as a float."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            message = str(exc)
            if "depth" in message:  # "depth limit exceeded" (older: "recursion depth exceeded")
                raise DecodeError(
                    f"json: nesting deeper than {JSON_MAX_DEPTH} levels ({message})"
                ) from exc
            raise DecodeError(f"json: invalid document: {message}") from exc
        if data.translate(_DIGIT_MAP).find(_LONG_DIGIT_RUN) != -1:  # maybe beyond 64 bits
            refuse_big_integers(data)
        return value


def refuse_non_finite(value: Any, what: str) -> None:
    """Raise EncodeError if `value` holds a NaN or an infinity, which JSON cannot carry."""
    where = non_finite_float_path(value)
    if where is not None:
        raise EncodeError(
            f"{what}: {where}: NaN and infinities cannot be written as JSON (they would "
            "arrive as null); send them as strings, or use the msgpack serializer"
        )


def refuse_big_integers(data: bytes) -> None:
    """Raise DecodeError if a JSON text holds an integer outside the 64-bit range."""
    literal = _integer_out_of_range(data)
    if literal is not None:
        raise DecodeError(
            f"json: integer {describe(literal.decode('ascii'))} is outside the 64-bit range "
            f"[{JSON_INT_MIN}, {JSON_INT_MAX}] and cannot be read exactly; send it as a string"
        )


def _msgpack_default(value: Any) -> Any:
    return to_primitive(value)


def _refuse_ext(code: int, data: bytes) -> Any:
    """msgpack extension types other than the timestamp are not part of the format we accept."""
    raise DecodeError(f"msgpack: extension type {code} is not supported")


class MsgpackSerializer:
    """`application/msgpack`. bytes are native; other conversions as json (datetime -> ISO str).

    Decoding keeps msgpack's `strict_map_key=True` (map keys must be str or bytes) and its own
    nesting limit (1024); the msgpack timestamp extension (-1) arrives as an aware UTC datetime,
    any other extension type is refused.
    """

    name: ClassVar[str] = "msgpack"
    content_type: ClassVar[str] = "application/msgpack"
    safe: ClassVar[bool] = True
    schema_field: ClassVar[str | None] = None

    def encode(self, value: Any) -> bytes:
        """Pack with `use_bin_type` so str and bytes stay distinct for every reader."""
        try:
            return msgpack.packb(value, default=_msgpack_default, use_bin_type=True, datetime=False)
        except (TypeError, ValueError, OverflowError) as exc:
            raise EncodeError(f"msgpack: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        """Unpack exactly one object; trailing bytes, truncation and deep nesting are errors."""
        try:
            return msgpack.unpackb(data, raw=False, timestamp=3, ext_hook=_refuse_ext)
        except DecodeError:
            raise
        except Exception as exc:  # msgpack raises many unrelated types (ValueError, TypeError...)
            raise DecodeError(f"msgpack: invalid data: {type(exc).__name__}: {exc}") from exc


class PickleSerializer:
    """`application/x-python-pickle`: any Python value, Python only, and never safe to read.

    Decoding runs arbitrary code, so the envelope reads pickle only when the policy accepts its
    content type and (unless `allow_unsigned_unsafe`) the envelope carries a valid signature.
    """

    name: ClassVar[str] = "pickle"
    content_type: ClassVar[str] = "application/x-python-pickle"
    safe: ClassVar[bool] = False
    schema_field: ClassVar[str | None] = None
    protocol: ClassVar[int] = 5

    def encode(self, value: Any) -> bytes:
        """Pickle with a fixed protocol so both ends agree across Python versions >= 3.8."""
        try:
            return pickle.dumps(value, protocol=self.protocol)
        except Exception as exc:  # pickling can raise nearly anything from __reduce__
            raise EncodeError(f"pickle: {type(exc).__name__}: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        """Unpickle; any failure inside becomes a DecodeError."""
        try:
            return pickle.loads(data)
        except Exception as exc:
            raise DecodeError(f"pickle: {type(exc).__name__}: {exc}") from exc


class TextSerializer:
    """`text/plain`: a str as UTF-8 (the body any language can write by hand)."""

    name: ClassVar[str] = "text"
    content_type: ClassVar[str] = "text/plain"
    safe: ClassVar[bool] = True
    schema_field: ClassVar[str | None] = None

    def encode(self, value: Any) -> bytes:
        """Only str is accepted: guessing a text form for other values would hide bugs."""
        if not isinstance(value, str):
            raise EncodeError(f"text: expected str, got {type(value).__qualname__}")
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            raise EncodeError(f"text: not encodable as UTF-8: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        """Strict UTF-8: invalid bytes are an error, not replacement characters."""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"text: invalid UTF-8: {exc}") from exc


class BytesSerializer:
    """`application/octet-stream`: bytes as they are."""

    name: ClassVar[str] = "bytes"
    content_type: ClassVar[str] = "application/octet-stream"
    safe: ClassVar[bool] = True
    schema_field: ClassVar[str | None] = None

    def encode(self, value: Any) -> bytes:
        """bytes, bytearray and memoryview are copied to bytes; anything else is an error."""
        if isinstance(value, bytes):
            return value
        if isinstance(value, bytearray | memoryview):
            return bytes(value)
        raise EncodeError(f"bytes: expected bytes, got {type(value).__qualname__}")

    def decode(self, data: bytes) -> Any:
        """The body itself."""
        return bytes(data)
