"""The serializer interface and the registry that finds serializers by name or content type.

A serializer is any object with `name`, `content_type`, `safe`, `encode(value) -> bytes` and
`decode(data) -> Any`. `safe` says whether `decode` may run on untrusted bytes: an unsafe one
(pickle) is only ever used by the envelope when a decoding policy explicitly allows it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from serializers.errors import UnknownSerializer

__all__ = [
    "Serializer",
    "SerializerRegistry",
    "default_registry",
    "get_serializer",
    "register_serializer",
]


@runtime_checkable
class Serializer(Protocol):
    """What the envelope needs from a codec. `schema_field` is optional (None when absent).

    The three attributes are read-only properties here, so a class attribute (`ClassVar`), an
    instance attribute and a property all satisfy the protocol under a type checker.
    """

    @property
    def name(self) -> str:
        """Registry name, e.g. "json"."""
        ...

    @property
    def content_type(self) -> str:
        """The `ct=` written in the envelope header."""
        ...

    @property
    def safe(self) -> bool:
        """May `decode` run on untrusted bytes? (False for pickle.)"""
        ...

    def encode(self, value: Any) -> bytes:
        """Turn a value into body bytes; raise `EncodeError` for values it cannot write."""
        ...

    def decode(self, data: bytes) -> Any:
        """Turn body bytes into a value; raise `DecodeError` for bytes it cannot read."""
        ...


SerializerSpec = Serializer | type | str


def _instantiate(spec: SerializerSpec) -> Serializer:
    """Accept an instance, a class (called without arguments) or a dotted path to either."""
    obj: Any = spec
    if isinstance(spec, str):
        module_name, _, attr = spec.rpartition(".")
        if not module_name:
            raise UnknownSerializer(f"not a dotted path to a serializer: {spec!r}")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownSerializer(f"cannot import serializer {spec!r}: {exc}") from exc
    if isinstance(obj, type):
        try:
            obj = obj()
        except TypeError as exc:
            raise UnknownSerializer(f"cannot instantiate serializer class {obj!r}: {exc}") from exc
    required = ("name", "content_type", "safe", "encode", "decode")
    missing = [attr for attr in required if not hasattr(obj, attr)]
    if missing:
        raise UnknownSerializer(f"{obj!r} is not a serializer: it lacks {', '.join(missing)}")
    return obj


class SerializerRegistry:
    """Serializers by name and by content type. Thread-safe for registration; lookups are dicts.

    The first serializer registered for a content type owns it: a later one with the same content
    type (e.g. a schema serializer writing `application/json`) is found by name only.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, Serializer] = {}
        self._by_content_type: dict[str, Serializer] = {}
        self._lock = threading.Lock()

    def register(self, spec: SerializerSpec, *, replace: bool = False) -> Serializer:
        """Add a serializer; `replace=True` lets it take over an existing name and content type."""
        serializer = _instantiate(spec)
        with self._lock:
            existing = self._by_name.get(serializer.name)
            if existing is not None and existing is not serializer and not replace:
                raise ValueError(
                    f"a serializer named {serializer.name!r} is already registered; "
                    "pass replace=True to override it"
                )
            self._by_name[serializer.name] = serializer
            if replace or serializer.content_type not in self._by_content_type:
                self._by_content_type[serializer.content_type] = serializer
        return serializer

    def get(self, name_or_content_type: str) -> Serializer:
        """Find a serializer by its name ("json") or its content type ("application/json")."""
        found = self._by_name.get(name_or_content_type)
        if found is None:
            found = self._by_content_type.get(name_or_content_type)
        if found is None:
            raise UnknownSerializer(
                f"no serializer named or with content type {name_or_content_type!r}; "
                f"known: {', '.join(sorted(self._by_name))}"
            )
        return found

    def by_content_type(self, content_type: str) -> Serializer:
        """Find the serializer that owns a content type (used when decoding an envelope)."""
        found = self._by_content_type.get(content_type)
        if found is None:
            raise UnknownSerializer(f"no serializer for content type {content_type!r}")
        return found

    def names(self) -> list[str]:
        """Registered names, sorted (for error messages and documentation)."""
        return sorted(self._by_name)

    def __iter__(self) -> Iterator[Serializer]:
        return iter(list(self._by_name.values()))

    def __contains__(self, name_or_content_type: object) -> bool:
        known = name_or_content_type
        return known in self._by_name or known in self._by_content_type


default_registry = SerializerRegistry()


def register_serializer(spec: SerializerSpec, *, replace: bool = False) -> Serializer:
    """Register a serializer (instance, class, or dotted path) in the default registry."""
    return default_registry.register(spec, replace=replace)


def get_serializer(name_or_content_type: str | Serializer) -> Serializer:
    """Resolve a name or content type in the default registry; a serializer passes through."""
    if isinstance(name_or_content_type, str):
        return default_registry.get(name_or_content_type)
    return name_or_content_type
