"""The conservative subschema check behind the drift rules: proven widenings only."""

from __future__ import annotations

from typing import Any

import pytest

from django_gearman.schemas.subschema import Side, accepts_all

DEFS = {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}}
STRING_OR_NULL = {"anyOf": [{"type": "string"}, {"type": "null"}]}
CASES = [
    ({"type": "integer"}, {"type": "number"}, True),
    ({"type": "number"}, {"type": "integer"}, False),
    ({"enum": [1, 2, 3]}, {"type": "integer"}, True),
    ({"type": "integer"}, {"enum": [1, 2, 3]}, False),
    ({"enum": ["a"]}, {"type": "string", "maxLength": 0}, False),
    ({"enum": [True]}, {"type": "integer"}, False),
    ({"const": "a"}, STRING_OR_NULL, True),
    ({"type": "string"}, STRING_OR_NULL, True),
    (STRING_OR_NULL, {"type": "string"}, False),
    ({"type": "array", "items": {"type": "integer"}}, {"type": "array", "items": {}}, True),
    ({"type": "array", "items": {}}, {"type": "array", "items": {"type": "integer"}}, False),
    ({"type": "string", "format": "date-time"}, {"type": "string"}, True),
    ({"type": "string"}, {"type": "string", "format": "date-time"}, False),
    ({"type": "integer", "minimum": 1}, {"type": "integer", "minimum": 0}, True),
    ({"type": "integer", "minimum": 0}, {"type": "integer", "minimum": 1}, False),
    ({"$ref": "#/$defs/Point"}, {"$ref": "#/$defs/Point"}, True),
    ({"$ref": "#/$defs/Point"}, {"type": "object"}, True),
    ({"$ref": "#/$defs/Missing"}, {"type": "object"}, False),
    ({"type": "object"}, {"type": "object", "required": ["x"]}, False),
    ({"type": "integer"}, {"type": "integer", "x-unknown": 1}, False),
]


@pytest.mark.parametrize(("old", "new", "expected"), CASES)
def test_accepts_all(old: dict[str, Any], new: dict[str, Any], expected: bool) -> None:
    assert accepts_all(Side(old, DEFS), Side(new, DEFS)) is expected
