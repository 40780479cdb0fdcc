"""Does one JSON Schema accept everything another accepts? A conservative answer for drift checks.

``accepts_all(old, new)`` is True only when it can show that every value valid against ``old`` is
valid against ``new`` (for the schemas pydantic writes: types, unions, enums, refs, objects,
arrays, string and number bounds). When it cannot show it, the answer is False, so a drift check
calls the change breaking rather than let an unproven one through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Keywords that describe but never constrain.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$schema",
        "$id",
        "discriminator",
    }
)
_HANDLED = frozenset(
    {
        "type",
        "anyOf",
        "oneOf",
        "enum",
        "const",
        "$ref",
        "$defs",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "format",
        "pattern",
        "uniqueItems",
        "multipleOf",
    }
)
_ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "string", "integer"})
MAX_DEPTH = 64  # schemas nest far less; recursive models stop at a pair of refs seen before


@dataclass(frozen=True, slots=True)
class Side:
    """A schema with the ``$defs`` its refs point into."""

    schema: Any
    defs: Mapping[str, Any]

    def resolve(self) -> tuple[Any, str | None]:
        schema, ref = self.schema, None
        for _ in range(MAX_DEPTH):
            if not (isinstance(schema, Mapping) and "$ref" in schema):
                break
            ref = str(schema["$ref"])
            target = self.defs.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/$defs/") else None
            if target is None:
                return {"$unresolvable": ref}, ref  # an unknown keyword: nothing is proven
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema, ref

    def at(self, schema: Any) -> Side:
        return Side(schema, self.defs)

    def accepts(self, value: Any) -> bool:
        """Whether a literal (an enum or const value of the other side) is valid here; only
        scalars are checked, anything else is not proven."""
        schema, _ = self.resolve()
        if schema is True or schema == {}:
            return True
        if not isinstance(schema, Mapping):
            return False
        for key in ("anyOf", "oneOf"):
            if key in schema:
                base = {k: v for k, v in schema.items() if k != key}
                return any(self.at({**base, **branch}).accepts(value) for branch in schema[key])
        if "const" in schema:
            return bool(schema["const"] == value and type(schema["const"]) is type(value))
        if "enum" in schema:
            return any(item == value and type(item) is type(value) for item in schema["enum"])
        return _json_type(value) in _types(schema) and _scalar_bounds(value, schema)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    return "string" if isinstance(value, str) else "unknown"


def _scalar_bounds(value: Any, schema: Mapping[str, Any]) -> bool:
    """A scalar literal against the bounds pydantic writes (anything else: not proven)."""
    checks = {
        "minimum": lambda bound: value >= bound,
        "maximum": lambda bound: value <= bound,
        "exclusiveMinimum": lambda bound: value > bound,
        "exclusiveMaximum": lambda bound: value < bound,
        "minLength": lambda bound: len(value) >= bound,
        "maxLength": lambda bound: len(value) <= bound,
        "pattern": lambda bound: re.search(bound, value) is not None,
    }
    for key, bound in schema.items():
        if key in checks:
            try:
                if not checks[key](bound):
                    return False
            except (TypeError, re.error):
                return False
        elif key not in ("type", *_ANNOTATIONS):
            return False
    return True


def accepts_all(old: Side, new: Side) -> bool:
    """True when every value valid against ``old`` is provably valid against ``new``."""
    return _sub(old, new, set(), 0)


def _types(schema: Mapping[str, Any]) -> frozenset[str]:
    value = schema.get("type")
    if value is None:
        return _ALL_TYPES
    names = frozenset([value] if isinstance(value, str) else value)
    return names | {"integer"} if "number" in names else names


def _sub(old: Side, new: Side, seen: set[tuple[str, str]], depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    a, ref_a = old.resolve()
    b, ref_b = new.resolve()
    if ref_a is not None and ref_b is not None:
        if (ref_a, ref_b) in seen:
            return True  # a recursive model: assume what is being shown one level up
        seen = seen | {(ref_a, ref_b)}
    if b is True or b == {} or a is False:
        return True
    if a is True or b is False or not isinstance(a, Mapping) or not isinstance(b, Mapping):
        return a == b
    a_rest = {k: v for k, v in a.items() if k not in _ANNOTATIONS}
    b_rest = {k: v for k, v in b.items() if k not in _ANNOTATIONS}
    if a_rest == b_rest and old.defs == new.defs:
        return True
    for key in ("anyOf", "oneOf"):
        if key in a:
            base = {k: v for k, v in a.items() if k != key}
            return all(_sub(old.at({**base, **branch}), new, seen, depth + 1) for branch in a[key])
    if "const" in a or "enum" in a:
        values = [a["const"]] if "const" in a else list(a["enum"])
        return all(new.at(b).accepts(value) for value in values)
    for key in ("anyOf", "oneOf"):
        if key in b:
            base = {k: v for k, v in b.items() if k != key}
            return any(_sub(old, new.at({**base, **branch}), seen, depth + 1) for branch in b[key])
    if "const" in b or "enum" in b:
        return False
    if any(key not in _HANDLED and a.get(key) != value for key, value in b_rest.items()):
        return False  # b constrains in a way we do not reason about
    types_a, types_b = _types(a), _types(b)
    if not types_a <= types_b:
        return False
    return (
        _bounds(a, b)
        and _strings(a, b)
        and _arrays(old.at(a), new.at(b), seen, depth)
        and _objects(old.at(a), new.at(b), seen, depth)
    )


def _at_least(a: Mapping[str, Any], b: Mapping[str, Any], key: str, low: bool) -> bool:
    """b's bound ``key`` is absent or no tighter than a's."""
    if key not in b:
        return True
    if key not in a:
        return False
    return b[key] <= a[key] if low else b[key] >= a[key]


def _bounds(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    lows = ("minimum", "exclusiveMinimum", "minLength", "minItems")
    highs = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")
    if "multipleOf" in b and b.get("multipleOf") != a.get("multipleOf"):
        return False
    if b.get("uniqueItems") and not a.get("uniqueItems"):
        return False
    return all(_at_least(a, b, key, True) for key in lows) and all(
        _at_least(a, b, key, False) for key in highs
    )


def _strings(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(key not in b or a.get(key) == b[key] for key in ("pattern", "format"))


def _arrays(old: Side, new: Side, seen: set[tuple[str, str]], depth: int) -> bool:
    a, b = old.schema, new.schema
    if "items" not in b and "prefixItems" not in b:
        return True
    prefix_a, prefix_b = a.get("prefixItems", []), b.get("prefixItems", [])
    rest_a, rest_b = a.get("items", True), b.get("items", True)
    for index in range(max(len(prefix_a), len(prefix_b))):
        item_a = prefix_a[index] if index < len(prefix_a) else rest_a
        item_b = prefix_b[index] if index < len(prefix_b) else rest_b
        if item_a is False:
            return True  # a allows no item here, so none further either
        if not _sub(old.at(item_a), new.at(item_b), seen, depth + 1):
            return False
    return rest_a is False or _sub(old.at(rest_a), new.at(rest_b), seen, depth + 1)


def _objects(old: Side, new: Side, seen: set[tuple[str, str]], depth: int) -> bool:
    a, b = old.schema, new.schema
    if not set(b.get("required", ())) <= set(a.get("required", ())):
        return False
    props_a, props_b = a.get("properties", {}), b.get("properties", {})
    extra_a, extra_b = a.get("additionalProperties", True), b.get("additionalProperties", True)
    for name in set(props_a) | set(props_b):
        item_a = props_a.get(name, extra_a)
        item_b = props_b.get(name, extra_b)
        if item_a is not False and not _sub(old.at(item_a), new.at(item_b), seen, depth + 1):
            return False
    return extra_a is False or _sub(old.at(extra_a), new.at(extra_b), seen, depth + 1)
