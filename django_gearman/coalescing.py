"""``unique="auto"``: a Gearman unique id from a canonical encoding of the validated call.

gearmand runs one job per (function, unique id): identical foreground calls in flight share one
execution and its result, identical background jobs queue once. ``unique=True`` hashes the
payload bytes; ``"auto"`` hashes what the call *means*, so calls that differ only in how they
were written coalesce. The rules (README.md, "Contracts"):

1. The arguments are validated against the job's annotations first (``"5"`` for an ``int`` is 5,
   an ISO string for a ``datetime`` is that datetime, a dict for a model is the model), then
   bound to the parameter names with the defaults filled in: ``f(1)``, ``f(a=1)`` and
   ``f(1, b=DEFAULT)`` are one call. (A job known only by name has no signature: its arguments
   are hashed as given.)
2. Mappings and sets are independent of order; lists and tuples keep theirs (and are the same).
3. Numbers are equal when their values are (``1``, ``1.0``, ``Decimal("1.00")``); booleans are
   not numbers. Strings compare code point by code point (no Unicode normalization).
4. Aware date-times are equal when they name the same instant (converted to UTC); naive ones
   never equal aware ones. ``UUID``, ``date``, ``time``, enums (their value), models and
   dataclasses (their fields) and bytes have one form each.
5. The job's Gearman function name and its ``NAME@VERSION`` are hashed too, so a new version
   never joins an old one's execution.

The digest is BLAKE2b (192 bits) of the canonical text, written as ``auto-`` plus 48 hex digits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import inspect
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

PREFIX = "auto-"
MAX_DEPTH = 1024  # the envelope's nesting limit: a validated call never goes deeper


class CannotCanonicalize(TypeError):
    """A value has no canonical form; the call is not sent (pass ``unique=`` yourself)."""


def auto_unique(
    wire_name: str,
    contract: str | None,
    func: Callable[..., Any] | None,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> str:
    """The unique id of a validated call of ``func`` (``None`` for a job known only by name)."""
    if func is not None:
        bound = inspect.signature(func).bind(*args, **kwargs)
        bound.apply_defaults()
        call: Any = dict(bound.arguments)
    else:
        call = {"args": list(args), "kwargs": dict(kwargs)}
    text = json.dumps(
        [wire_name, contract, _canonical(call, 0)],
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    return PREFIX + hashlib.blake2b(text.encode("utf-8"), digest_size=24).hexdigest()


def _number(value: int | float | decimal.Decimal) -> list[Any]:
    """``["n", "DIGITSeEXP"]`` with trailing zeros moved into the exponent: exact, one form."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ["f", repr(value)]
        value = decimal.Decimal(value)  # exact: the double's own value, not its shortest text
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return ["f", str(value).lower()]
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        text = "".join(map(str, digits)).lstrip("0")
        if not text:
            return ["n", "0e0"]
        stripped = text.rstrip("0")
        return ["n", f"{'-' if sign else ''}{stripped}e{exponent + len(text) - len(stripped)}"]
    text = str(abs(value))
    stripped = text.rstrip("0") or "0"
    exponent = len(text) - len(stripped) if value else 0
    return ["n", f"{'-' if value < 0 else ''}{stripped}e{exponent}"]


def _canonical(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CannotCanonicalize(f"unique='auto': arguments nest deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return _number(value)
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, bytes | bytearray | memoryview):
        return ["b", bytes(value).hex()]
    if isinstance(value, enum.Enum):
        return _canonical(value.value, depth + 1)
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            return ["dt", value.isoformat()]
        return ["dtz", value.astimezone(dt.UTC).replace(tzinfo=None).isoformat()]
    if isinstance(value, dt.date | dt.time):
        return ["d", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["u", value.hex]
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump(), depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _canonical(fields, depth + 1)
    if isinstance(value, Mapping):
        pairs = [[_canonical(k, depth + 1), _canonical(v, depth + 1)] for k, v in value.items()]
        return ["m", sorted(pairs, key=_sort_key)]
    if isinstance(value, set | frozenset):
        return ["set", sorted((_canonical(v, depth + 1) for v in value), key=_sort_key)]
    if isinstance(value, list | tuple):
        return ["a", [_canonical(item, depth + 1) for item in value]]
    raise CannotCanonicalize(
        f"unique='auto' has no canonical form for a {type(value).__qualname__} value; "
        "pass unique='...' yourself"
    )


def _sort_key(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def call_unique(spec: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """``unique="auto"`` for a call of ``spec`` (a ``calls.JobSpec``): validated, then hashed."""
    if spec.schema is not None:
        call = spec.schema.call.validate({"args": list(args), "kwargs": dict(kwargs)})
        args, kwargs = call.args, call.kwargs
    return auto_unique(spec.wire_name, spec.contract, spec.func, args, kwargs)
