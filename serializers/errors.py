"""Typed errors of the payload layer.

Every failure inside `serializers` surfaces as a `SerializerError` subclass, so callers (the worker
runtime, the client) can catch one base class and still tell a hostile payload from a bug. Errors
raised by orjson, msgpack, pickle, zlib or pydantic are wrapped (`raise X(...) from exc`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict


class ErrorDetail(TypedDict):
    """One validation problem: where (`loc`, "kwargs.when"), what (`msg`), which kind (`type`)."""

    loc: str
    msg: str
    type: str


class SerializerError(Exception):
    """Base class of every error raised by the payload layer."""


class UnknownSerializer(SerializerError, LookupError):
    """No serializer is registered under the requested name or content type."""


class EncodeError(SerializerError, ValueError):
    """A value cannot be written by the chosen serializer."""


class DecodeError(SerializerError, ValueError):
    """A body cannot be read by its serializer (corrupt, truncated or too deeply nested)."""


class MalformedEnvelope(DecodeError):
    """The envelope header breaks the v1 grammar (no marker, bad token, duplicate key, no `ct`)."""


class UnsupportedVersion(MalformedEnvelope):
    """The envelope marker names a version this reader does not speak."""


class ContentTypeNotAccepted(SerializerError):
    """The decoding policy does not accept the envelope's content type (or its encoding)."""


class PayloadTooLarge(SerializerError):
    """A header, body or decompressed body exceeds the decoding policy's limits."""


class SignatureError(SerializerError):
    """Base class of signature failures; the envelope must not be trusted."""


class SignatureMissing(SignatureError):
    """The policy (or an unsafe content type) requires a signature and the envelope has none."""


class UnknownKey(SignatureError):
    """The envelope is signed with a key id that the policy does not know."""


class BadSignature(SignatureError):
    """The signature does not match the job name, header and body (tampered or wrong key)."""


class ValidationFailed(SerializerError, ValueError):
    """A value does not match its schema; `.errors` lists each problem as {loc, msg, type}."""

    def __init__(self, message: str, errors: Sequence[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.errors: list[ErrorDetail] = list(errors)

    @classmethod
    def from_details(cls, errors: Sequence[ErrorDetail], what: str = "value") -> ValidationFailed:
        """Build the error with a message that names every failing location."""
        parts = [f"{e['loc'] or '<root>'}: {e['msg']}" for e in errors[:10]]
        if len(errors) > 10:
            parts.append(f"... and {len(errors) - 10} more")
        return cls(f"invalid {what}: " + "; ".join(parts), errors)


def describe(value: Any, limit: int = 60) -> str:
    """A short, safe description of a value for error messages (never the whole payload)."""
    try:
        text = repr(value)
    except Exception:  # e.g. an int too long for str(), or a broken __repr__
        return f"<{type(value).__qualname__} value>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SchemaError(SerializerError, TypeError):
    """A schema cannot be built (unresolvable annotation, type pydantic cannot validate)."""
