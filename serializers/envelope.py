"""Envelope v1: a one-line text header (content type, encoding, schema, accept, signature) + body.

The full specification is docs/envelope.md. Header bytes are cached on encode and parsed
headers on decode (keyed by the exact header bytes), so a header is validated once per process
and then only looked up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from serializers.base import Serializer, SerializerRegistry, default_registry
from serializers.errors import (
    BadSignature,
    ContentTypeNotAccepted,
    DecodeError,
    EncodeError,
    MalformedEnvelope,
    PayloadTooLarge,
    SerializerError,
    SignatureMissing,
    UnknownKey,
    UnknownSerializer,
    UnsupportedVersion,
    describe,
)

__all__ = [
    "DEFAULT_ACCEPT",
    "MAGIC",
    "MAX_BODY_BYTES",
    "MAX_DECODED_BYTES",
    "MAX_HEADER_BYTES",
    "VERSION",
    "DecodePolicy",
    "Decoded",
    "Header",
    "ParsedHeader",
    "SigningKey",
    "decode",
    "encode",
    "read_header",
]

MAGIC = b"GME/"
VERSION = 1
_MARKER = b"GME/1"
DEFAULT_ACCEPT = frozenset({"application/json", "application/msgpack"})
KIB = 1024
MIB = 1024 * KIB
# The default limits of a receiver: the one source of these numbers (docs/envelope.md, "Limits",
# the README's settings table and django_gearman's settings defaults show them; a test checks).
#: Longest header line, LF excluded.
MAX_HEADER_BYTES = 8 * KIB
#: Largest body as sent (after the header's LF; compressed, if `enc` is set).
MAX_BODY_BYTES = 16 * MIB
#: Largest body after decompression (and largest uncompressed body read).
MAX_DECODED_BYTES = 64 * MIB

_KEY = re.compile(r"[a-z][a-z0-9-]*")
# One header value: printable ASCII without space (0x21-0x7e), at least one character.
_VALUE = re.compile(r"[\x21-\x7e]+")
_HEX_SIGNATURE = re.compile(rb"[0-9a-f]{64}")
# A version is a decimal number without leading zeros, at most 9 digits ("1", "2", "10").
_VERSION_TOKEN = re.compile(rb"GME/([1-9][0-9]{0,8})")
_SUPPORTED_ENCODINGS = frozenset({"zlib"})
#: Header keys with a meaning in v1; every other key is an extra field (`Decoded.fields`).
V1_KEYS = frozenset({"ct", "enc", "schema", "accept", "kid", "sig"})
_CACHE_LIMIT = 512


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A key id (sent in the header as `kid`) and its secret (never printed)."""

    key_id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, str) or not _VALUE.fullmatch(self.key_id):
            raise ValueError("key_id must be a non-empty str of printable ASCII without spaces")
        if not isinstance(self.secret, bytes) or not self.secret:
            raise TypeError(f"the secret of key {self.key_id!r} must be non-empty bytes")

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r}, secret=<hidden>)"

    __str__ = __repr__


@dataclass(frozen=True)
class DecodePolicy:
    """What a receiver accepts. Immutable; build one per job (or one for all) and reuse it.

    `accept`: content types decoded (default json and msgpack). `require_signature`: refuse
    unsigned envelopes. Unsafe content types (pickle) need a signature even when this is False,
    unless `allow_unsigned_unsafe`. `verify_keys`: key id -> secret; several allow rotation.
    `unenveloped`: content type for payloads without the `GME/` marker (None refuses them).
    `max_depth`: if set, decoded containers nested deeper are refused (costs a walk of the value).
    """

    accept: Iterable[str] = DEFAULT_ACCEPT  # any iterable of str; stored as a frozenset
    require_signature: bool = False
    allow_unsigned_unsafe: bool = False
    verify_keys: Mapping[str, bytes] = field(default_factory=dict, repr=False, hash=False)
    max_header_bytes: int = MAX_HEADER_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    max_decoded_bytes: int = MAX_DECODED_BYTES
    unenveloped: str | None = None
    max_depth: int | None = None
    registry: SerializerRegistry = field(default=default_registry, repr=False, compare=False)

    def __post_init__(self) -> None:
        accept: Any = self.accept
        if isinstance(accept, str) or not isinstance(accept, Iterable):
            raise TypeError("accept must be a collection of content type strings")
        accept = frozenset(accept)
        if not all(isinstance(ct, str) for ct in accept):
            raise TypeError("accept must contain only content type strings")
        object.__setattr__(self, "accept", accept)
        keys = dict(self.verify_keys)
        for key_id, secret in keys.items():
            if not isinstance(key_id, str) or not isinstance(secret, bytes) or not secret:
                raise TypeError(
                    f"verify_keys must map str key ids to non-empty bytes secrets ({key_id!r})"
                )
        object.__setattr__(self, "verify_keys", MappingProxyType(keys))
        for name in ("max_header_bytes", "max_body_bytes", "max_decoded_bytes"):
            limit = getattr(self, name)
            if not isinstance(limit, int) or limit < 1:
                raise ValueError(f"{name} must be a positive int, got {limit!r}")
        depth = self.max_depth
        if depth is not None and (not isinstance(depth, int) or depth < 1):
            raise ValueError(f"max_depth must be a positive int or None, got {self.max_depth!r}")
        if self.unenveloped is not None and not isinstance(self.unenveloped, str):
            raise TypeError("unenveloped must be a content type string or None")

    def __repr__(self) -> str:
        return (
            f"DecodePolicy(accept={sorted(self.accept)!r}, "
            f"require_signature={self.require_signature!r}, "
            f"allow_unsigned_unsafe={self.allow_unsigned_unsafe!r}, "
            f"verify_key_ids={sorted(self.verify_keys)!r}, "
            f"max_header_bytes={self.max_header_bytes}, max_body_bytes={self.max_body_bytes}, "
            f"max_decoded_bytes={self.max_decoded_bytes}, unenveloped={self.unenveloped!r}, "
            f"max_depth={self.max_depth!r})"
        )


DEFAULT_POLICY = DecodePolicy()


class Header(NamedTuple):
    """An envelope header as read (not yet verified). `fields` has every key except `sig`."""

    version: int
    content_type: str
    content_encoding: str | None
    schema: str | None
    accept: tuple[str, ...]
    key_id: str | None
    signature: str | None
    fields: Mapping[str, str]
    enveloped: bool


class ParsedHeader(NamedTuple):
    """A checked header up to ` sig=`, parsed once per process and shared by every envelope
    that carries the same header. `fields` has every key, `extra` those v1 does not define."""

    content_type: str
    content_encoding: str | None
    schema: str | None
    accept: tuple[str, ...]
    key_id: str | None
    fields: Mapping[str, str]
    extra: Mapping[str, str]


@dataclass(slots=True)
class Decoded:
    """A decoded envelope: the value, the header it came with, and whether a signature over
    both was verified. What the header said reads as attributes of its own.

    A slotted dataclass, not frozen: one is built per message, and a frozen one costs three
    times as long to build (``object.__setattr__`` per field) as this.
    """

    value: Any
    header: ParsedHeader
    signed: bool

    @property
    def content_type(self) -> str:
        return self.header.content_type

    @property
    def content_encoding(self) -> str | None:
        return self.header.content_encoding

    @property
    def schema(self) -> str | None:
        return self.header.schema

    @property
    def accept(self) -> tuple[str, ...]:
        return self.header.accept

    @property
    def key_id(self) -> str | None:
        return self.header.key_id

    @property
    def fields(self) -> Mapping[str, str]:
        """The header fields v1 does not define (`id`, `traceparent`, ...)."""
        return self.header.extra


_NO_FIELDS: Mapping[str, str] = MappingProxyType({})
_parsed_cache: dict[bytes, ParsedHeader] = {}
_header_cache: dict[tuple[Any, ...], bytes] = {}


def _check_version(first_token: bytes) -> None:
    """Tell a future version (UnsupportedVersion) from garbage after the marker (Malformed)."""
    match = _VERSION_TOKEN.fullmatch(first_token)
    if match is None:
        raise MalformedEnvelope(f"bad envelope marker {describe(first_token)}; expected GME/1")
    if int(match.group(1)) != VERSION:
        raise UnsupportedVersion(
            f"envelope version {int(match.group(1))} is not supported (this reader speaks 1)"
        )
    raise MalformedEnvelope(f"bad envelope marker {describe(first_token)}; expected GME/1")


def _parse_signed_part(part: bytes) -> ParsedHeader:
    """Validate and parse the header line up to ` sig=`; the result is cached by the caller."""
    tokens = part.split(b" ")
    if tokens[0] != _MARKER:
        _check_version(tokens[0])
    try:
        text_tokens = [t.decode("ascii") for t in tokens[1:]]
    except UnicodeDecodeError as exc:
        raise MalformedEnvelope("envelope header must be printable ASCII") from exc
    fields: dict[str, str] = {}
    for token in text_tokens:
        key, eq, value = token.partition("=")
        if not eq or not _KEY.fullmatch(key) or not _VALUE.fullmatch(value):
            raise MalformedEnvelope(
                f"bad header token {describe(token)}: expected key=value, key [a-z][a-z0-9-]*, "
                "value printable ASCII without spaces (tokens are separated by one space)"
            )
        if key in fields:
            raise MalformedEnvelope(f"header key {key!r} given twice")
        if key == "sig":
            raise MalformedEnvelope("sig must be the last header token")
        fields[key] = value
    content_type = fields.get("ct")
    if content_type is None:
        raise MalformedEnvelope("header has no ct (content type)")
    accept = tuple(fields["accept"].split(",")) if "accept" in fields else ()
    if any(not ct for ct in accept):
        raise MalformedEnvelope("empty content type in accept list")
    return ParsedHeader(
        content_type,
        fields.get("enc"),
        fields.get("schema"),
        accept,
        fields.get("kid"),
        MappingProxyType(fields),
        MappingProxyType({k: v for k, v in fields.items() if k not in V1_KEYS}),
    )


def _body_too_large(policy: DecodePolicy) -> PayloadTooLarge:
    return PayloadTooLarge(f"envelope body larger than {policy.max_body_bytes} bytes")


def _split(data: bytes, policy: DecodePolicy) -> tuple[ParsedHeader, bytes | None, bytes, int]:
    """Checks in spec order up to sizes: marker/version, header grammar, header and body size.

    Returns the parsed header, the signature (hex bytes) or None, the signed part of the header
    and the offset of the body.
    """
    newline = data.find(b"\n", 0, policy.max_header_bytes + 1)
    if newline < 0:
        first = data[: data.find(b" ", 0, 16)] if b" " in data[:16] else data[:16]
        if first != _MARKER:
            _check_version(first.split(b"\n")[0])
        if len(data) > policy.max_header_bytes:
            raise PayloadTooLarge(f"envelope header longer than {policy.max_header_bytes} bytes")
        raise MalformedEnvelope("envelope header is not terminated by a newline")
    line = data[:newline]
    # The cache holds signed parts, which never contain a sig token: a whole line found in it
    # is an unsigned header seen before (a signed line differs in every message).
    signed_part, signature = line, None
    parsed = _parsed_cache.get(line)
    if parsed is None:
        sig_at = line.rfind(b" sig=")
        if sig_at >= 0:
            signed_part, signature = line[:sig_at], line[sig_at + 5 :]
            parsed = _parsed_cache.get(signed_part)
        if parsed is None:
            parsed = _parse_signed_part(signed_part)
            if len(_parsed_cache) >= _CACHE_LIMIT:
                _parsed_cache.clear()
            _parsed_cache[signed_part] = parsed
    if signature is not None:
        if not _HEX_SIGNATURE.fullmatch(signature):
            raise MalformedEnvelope(
                "sig must be the last header token and 64 lowercase hex digits (HMAC-SHA256)"
            )
        if parsed.key_id is None:
            raise MalformedEnvelope("sig without kid: the key id must be named")
    elif parsed.key_id is not None:
        raise MalformedEnvelope("kid without sig: a signed envelope ends with sig=HEX")
    if len(data) - newline - 1 > policy.max_body_bytes:
        raise _body_too_large(policy)
    return parsed, signature, signed_part, newline + 1


def read_header(
    data: bytes | bytearray | memoryview, policy: DecodePolicy = DEFAULT_POLICY
) -> Header:
    """Read and check only the header (marker, grammar, sizes); nothing is verified or decoded.

    For callers that need e.g. `accept` to choose a reply content type. An unenveloped payload
    allowed by the policy gives a header with `enveloped=False`.
    """
    data = _as_bytes(data)
    if not data.startswith(MAGIC):
        content_type = _unenveloped_content_type(data, policy)
        return Header(VERSION, content_type, None, None, (), None, None, _NO_FIELDS, False)
    parsed, signature, _, _ = _split(data, policy)
    return Header(
        VERSION,
        parsed.content_type,
        parsed.content_encoding,
        parsed.schema,
        parsed.accept,
        parsed.key_id,
        signature.decode("ascii") if signature is not None else None,
        parsed.fields,
        True,
    )


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise DecodeError(f"an envelope is bytes, got {type(data).__qualname__}")


def _unenveloped_content_type(data: bytes, policy: DecodePolicy) -> str:
    if policy.unenveloped is None:
        raise MalformedEnvelope(
            "payload is not an envelope (it does not start with GME/) and the policy has no "
            "unenveloped content type"
        )
    if len(data) > policy.max_body_bytes:
        raise PayloadTooLarge(f"unenveloped payload larger than {policy.max_body_bytes} bytes")
    return policy.unenveloped


def _mac(secret: bytes, job: str, signed_part: bytes, body: bytes) -> str:
    """HMAC-SHA256 over JOB + LF + HEADER_WITHOUT_SIG + LF + BODY, as lowercase hex."""
    if not isinstance(job, str):
        raise TypeError(f"the job name must be a str, got {type(job).__qualname__}")
    mac = hmac.new(secret, job.encode("utf-8") + b"\n" + signed_part + b"\n", hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def _inflate(body: bytes, limit: int) -> bytes:
    """Decompress zlib without ever producing more than `limit` + 1 bytes (bomb-proof)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise DecodeError(f"zlib: corrupt body: {exc}") from exc
    if len(out) > limit:
        raise PayloadTooLarge(f"body inflates to more than {limit} bytes")
    if not inflater.eof:
        raise DecodeError("zlib: truncated body")
    if inflater.unused_data:
        raise DecodeError("zlib: trailing bytes after the compressed body")
    return out


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True if containers nest deeper than `limit` (iterative: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    containers = (list, tuple, dict, set, frozenset)
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, containers))
    return False


def _decode_body(serializer: Serializer, body: bytes, policy: DecodePolicy) -> Any:
    try:
        value = serializer.decode(body)
    except SerializerError:
        raise
    except Exception as exc:  # a third-party serializer's own error type
        raise DecodeError(f"{serializer.name}: {type(exc).__name__}: {exc}") from exc
    if (
        policy.max_depth is not None
        and isinstance(value, list | tuple | dict | set | frozenset)
        and _depth_exceeds(value, policy.max_depth)
    ):
        raise DecodeError(f"decoded value nests deeper than {policy.max_depth} levels")
    return value


def _serializer_for(
    content_type: str, policy: DecodePolicy, serializer: Serializer | None
) -> Serializer:
    """The registry's serializer for the content type, or the caller's if it reads that type."""
    if serializer is None:
        return policy.registry.by_content_type(content_type)
    if serializer.content_type != content_type:
        raise ContentTypeNotAccepted(
            f"content type {content_type!r} does not match the expected serializer "
            f"{serializer.name!r} ({serializer.content_type})"
        )
    return serializer


def decode(
    data: bytes | bytearray | memoryview,
    policy: DecodePolicy = DEFAULT_POLICY,
    *,
    job: str = "",
    serializer: Serializer | None = None,
) -> Decoded:
    """Check and decode an envelope, in this order: marker/version, header, sizes, content type,
    signature, decompression (bounded), decoding (and validation, for schema serializers).

    `job` is the Gearman function name the payload arrived for: signatures bind it.
    `serializer` overrides the registry lookup (e.g. a SchemaSerializer to validate the body);
    its content type must equal the header's.
    """
    if not isinstance(data, bytes):
        data = _as_bytes(data)
    if not isinstance(policy, DecodePolicy):
        raise TypeError(f"policy must be a DecodePolicy, got {type(policy).__qualname__}")
    if not data.startswith(MAGIC):
        return _decode_unenveloped(data, policy, serializer)
    parsed, signature, signed_part, body_at = _split(data, policy)
    content_type = parsed.content_type
    if content_type not in policy.accept:
        raise ContentTypeNotAccepted(
            f"content type {content_type!r} is not accepted (accepted: "
            f"{', '.join(sorted(policy.accept)) or 'none'})"
        )
    encoding = parsed.content_encoding
    if encoding is not None and encoding not in _SUPPORTED_ENCODINGS:
        raise ContentTypeNotAccepted(f"content encoding {encoding!r} is not supported")
    chosen = _serializer_for(content_type, policy, serializer)
    body = data[body_at:]
    if signature is not None:
        key_id: str = parsed.key_id  # type: ignore[assignment]  # _split checked it
        secret = policy.verify_keys.get(key_id)
        if secret is None:
            raise UnknownKey(f"envelope signed with unknown key id {key_id!r}")
        expected = _mac(secret, job, signed_part, body)
        if not hmac.compare_digest(expected.encode("ascii"), signature):
            raise BadSignature(
                f"signature of key {key_id!r} does not match the job name {job!r}, "
                "the header and the body"
            )
    elif policy.require_signature:
        raise SignatureMissing("the policy requires a signed envelope")
    elif not chosen.safe and not policy.allow_unsigned_unsafe:
        raise SignatureMissing(
            f"content type {content_type!r} is unsafe to decode: it needs a valid signature "
            "(or allow_unsigned_unsafe=True in the policy)"
        )
    if encoding is not None:
        body = _inflate(body, policy.max_decoded_bytes)
    elif len(body) > policy.max_decoded_bytes:
        raise PayloadTooLarge(f"body larger than {policy.max_decoded_bytes} bytes")
    return Decoded(_decode_body(chosen, body, policy), parsed, signature is not None)


def _decode_unenveloped(
    data: bytes, policy: DecodePolicy, serializer: Serializer | None
) -> Decoded:
    """The one rule for foreign payloads: the whole payload is an unsigned body of one type."""
    content_type = _unenveloped_content_type(data, policy)
    if policy.require_signature:
        raise SignatureMissing("the policy requires a signed envelope; this payload has none")
    chosen = _serializer_for(content_type, policy, serializer)
    if not chosen.safe and not policy.allow_unsigned_unsafe:
        raise SignatureMissing(f"unenveloped {content_type!r} payloads are unsafe to decode")
    if len(data) > policy.max_decoded_bytes:
        raise PayloadTooLarge(f"payload larger than {policy.max_decoded_bytes} bytes")
    header = ParsedHeader(content_type, None, None, (), None, _NO_FIELDS, _NO_FIELDS)
    return Decoded(_decode_body(chosen, data, policy), header, False)


def _check_header_value(what: str, value: str, *, in_list: bool = False) -> str:
    if not isinstance(value, str) or not _VALUE.fullmatch(value) or (in_list and "," in value):
        raise EncodeError(
            f"{what} {describe(value)} cannot go in an envelope header: it must be printable "
            "ASCII without spaces" + (" or commas" if in_list else "")
        )
    return value


def _checked_fields(fields: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Extra header fields as `(key, value)` pairs, each checked against the v1 grammar."""
    if not isinstance(fields, Mapping):
        raise EncodeError(f"fields must be a mapping of str to str, got {describe(fields)}")
    checked = []
    for key, value in fields.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise EncodeError(
                f"header field name {describe(key)} is not [a-z][a-z0-9-]* (lowercase ASCII "
                "letter, then lowercase letters, digits or '-')"
            )
        if key in V1_KEYS:
            raise EncodeError(
                f"header field {key!r} is defined by envelope v1; pass it through its own "
                "argument of encode(), not fields="
            )
        checked.append((key, _check_header_value(f"header field {key}", value)))
    return tuple(checked)


def _build_header(
    content_type: str,
    encoding: str | None,
    schema: str | None,
    accept: tuple[str, ...],
    extra: tuple[tuple[str, str], ...],
    key_id: str | None,
) -> bytes:
    parts = ["GME/1", "ct=" + _check_header_value("content type", content_type)]
    if encoding is not None:
        parts.append("enc=" + encoding)
    if schema is not None:
        parts.append("schema=" + _check_header_value("schema", schema))
    if accept:
        items = [_check_header_value("accept content type", ct, in_list=True) for ct in accept]
        parts.append("accept=" + ",".join(items))
    parts.extend(key + "=" + value for key, value in extra)
    if key_id is not None:
        parts.append("kid=" + key_id)
    return " ".join(parts).encode("ascii")


def encode(
    value: Any,
    serializer: str | Serializer = "json",
    *,
    job: str = "",
    signing_key: SigningKey | None = None,
    compress: Literal["zlib"] | None = None,
    compress_min_bytes: int = 1024,
    accept: Iterable[str] = (),
    schema: str | None = None,
    fields: Mapping[str, str] | None = None,
    registry: SerializerRegistry | None = None,
) -> bytes:
    """Serialize `value` and wrap it in an envelope v1.

    `serializer`: a registered name or content type, or a serializer object. `job`: the function
    name, bound into the signature (must match the receiver's). `compress="zlib"` compresses
    bodies of at least `compress_min_bytes` when that makes them smaller. `accept`: content
    types the sender can read in a reply. `schema` overrides the serializer's schema field.
    `fields`: extra `key=value` header tokens that v1 does not define (e.g. a job id or a trace
    context), written after `accept` and covered by the signature; `Decoded.fields` reads them.
    """
    if isinstance(serializer, str):
        chosen = (registry or default_registry).get(serializer)
    elif hasattr(serializer, "encode") and hasattr(serializer, "content_type"):
        chosen = serializer
    else:
        raise UnknownSerializer(f"not a serializer name or object: {describe(serializer)}")
    try:
        body = chosen.encode(value)
    except SerializerError:
        raise
    except Exception as exc:  # a third-party serializer's own error type
        raise EncodeError(f"{chosen.name}: {type(exc).__name__}: {exc}") from exc
    encoding: str | None = None
    if compress is not None:
        if compress != "zlib":
            raise EncodeError(f"unknown compression {compress!r}; supported: 'zlib'")
        if len(body) >= compress_min_bytes:
            packed = zlib.compress(body)
            if len(packed) < len(body):
                body, encoding = packed, "zlib"
    if schema is None:
        schema = getattr(chosen, "schema_field", None)
    if isinstance(accept, tuple):
        accept_key = accept
    elif isinstance(accept, str):  # one content type, not its characters
        accept_key = (accept,)
    else:
        accept_key = tuple(accept)
    extra = _checked_fields(fields) if fields else ()
    key_id = signing_key.key_id if signing_key is not None else None
    cache_key = (chosen.content_type, encoding, schema, accept_key, extra, key_id)
    header_line = _header_cache.get(cache_key)
    if header_line is None:
        header_line = _build_header(
            chosen.content_type, encoding, schema, accept_key, extra, key_id
        )
        header_line += b"\n"
        if len(_header_cache) >= _CACHE_LIMIT:
            _header_cache.clear()
        _header_cache[cache_key] = header_line
    if signing_key is None:
        return header_line + body
    if isinstance(job, str) and "\n" in job:
        raise EncodeError("a job name containing a newline cannot be signed unambiguously")
    header = header_line[:-1]
    signature = _mac(signing_key.secret, job, header, body)
    return header + b" sig=" + signature.encode("ascii") + b"\n" + body
