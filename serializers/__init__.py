"""Typed, optionally signed, language-neutral payloads ("envelopes") for job queues.

This package imports neither Django nor any Gearman code: it only turns values into bytes and
back, under a decoding policy. See docs/envelope.md (wire format) and docs/serializers.md.
"""

from serializers.base import (
    Serializer,
    SerializerRegistry,
    default_registry,
    get_serializer,
    register_serializer,
)
from serializers.builtin import (
    BytesSerializer,
    JsonSerializer,
    MsgpackSerializer,
    PickleSerializer,
    TextSerializer,
)
from serializers.envelope import (
    Decoded,
    DecodePolicy,
    SigningKey,
    decode,
    encode,
)
from serializers.errors import (
    BadSignature,
    ContentTypeNotAccepted,
    DecodeError,
    EncodeError,
    MalformedEnvelope,
    PayloadTooLarge,
    SchemaError,
    SerializerError,
    SignatureError,
    SignatureMissing,
    UnknownKey,
    UnknownSerializer,
    UnsupportedVersion,
    ValidationFailed,
)
from serializers.schema import Call, CallSchema, ResultSchema, SchemaSerializer, wire_arguments

for _builtin in (
    JsonSerializer,
    MsgpackSerializer,
    PickleSerializer,
    TextSerializer,
    BytesSerializer,
):
    default_registry.register(_builtin)
del _builtin

__all__ = [
    "BadSignature",
    "BytesSerializer",
    "Call",
    "CallSchema",
    "ContentTypeNotAccepted",
    "DecodeError",
    "DecodePolicy",
    "Decoded",
    "EncodeError",
    "JsonSerializer",
    "MalformedEnvelope",
    "MsgpackSerializer",
    "PayloadTooLarge",
    "PickleSerializer",
    "ResultSchema",
    "SchemaError",
    "SchemaSerializer",
    "Serializer",
    "SerializerError",
    "SerializerRegistry",
    "SignatureError",
    "SignatureMissing",
    "SigningKey",
    "TextSerializer",
    "UnknownKey",
    "UnknownSerializer",
    "UnsupportedVersion",
    "ValidationFailed",
    "decode",
    "default_registry",
    "encode",
    "get_serializer",
    "register_serializer",
    "wire_arguments",
]
