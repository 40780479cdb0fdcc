"""Values of every JSON and msgpack type cross between Python and each peer, both ways.

Python writes with serializers.encode and each peer reads (and vice versa); the values must come
out the same. Where a language cannot hold a value, the test pins the documented behaviour
(docs/interop.md, "Limits of the peers") instead of skipping it.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import pytest

from serializers import DecodeError, EncodeError, decode, encode
from tests.interop.peers import (
    PeerFailed,
    canon,
    differences,
    peer_write,
    read_request,
    run_peer,
    write_request,
)

PEERS = ["perl", "php", "node"]
JOB = "interop.types"
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

# Values every peer reads exactly, in both content types.
COMMON: dict[str, Any] = {
    "unicode": "h\u00e9llo w\u00f6rld \u2713 \U0001f389 \u4e2d\u6587",
    "escapes": 'quote " backslash \\ slash / newline \n tab \t nul \x00 del \x7f',
    "empty_string": "",
    "small_ints": [0, 1, -1, 31, -32, 127, 128, 255, 256, -129, 65535, 65536, -32769],
    "large_ints": [2**31, -(2**31) - 1, 2**32, 2**53, -(2**53)],
    "floats": [0.1, -2.5, 1e300, -1e-300, 3.25],
    "bools_and_null": [True, False, None],
    "empty_map": {},
    "empty_list": [],
    "deep": {"a": [{"b": [{"c": [[[[["bottom"]]]]]}]}]},
    "odd_keys": {"": "empty key", "0": "zero", "with space": 1, "\u00fcml\u00e4ut": 2},
}
# msgpack only: bytes and the full 64-bit integer range.
MSGPACK_EXTRA: dict[str, Any] = {
    "bytes": bytes(range(256)),
    "ascii_bytes": b"plain",
    "empty_bytes": b"",
    "int64": [INT64_MAX, INT64_MIN],
}


def envelopes_from_python() -> list[tuple[str, bytes, Any, dict[str, Any]]]:
    """(label, envelope, value, reader policy) for every content type and compression."""
    out: list[tuple[str, bytes, Any, dict[str, Any]]] = []
    compressions: tuple[Literal["zlib"] | None, ...] = (None, "zlib")
    for compress in compressions:
        how = functools.partial(encode, job=JOB, compress=compress, compress_min_bytes=0)
        out.append((f"json {compress}", how(COMMON, "json"), COMMON, {}))
        both = {**COMMON, **MSGPACK_EXTRA}
        out.append((f"msgpack {compress}", how(both, "msgpack"), both, {}))
    text = "line one\nline two \u2713"
    out.append(("text", encode(text, "text", job=JOB), text, {"accept": ["text/plain"]}))
    blob = b"\x00\x01\xfe\xff raw"
    bytes_policy = {"accept": ["application/octet-stream"]}
    out.append(("bytes", encode(blob, "bytes", job=JOB), blob, bytes_policy))
    return out


@pytest.mark.parametrize("lang", PEERS)
def test_peer_reads_what_python_writes(lang: str) -> None:
    cases = envelopes_from_python()
    answers = run_peer(
        lang, "read", [read_request(env, JOB, **policy) for _, env, _, policy in cases]
    )
    problems = []
    for (label, _, value, _), answer in zip(cases, answers, strict=True):
        if not answer["ok"]:
            problems.append(f"{label}: refused: {answer}")
            continue
        problems += [f"{label}: {d}" for d in differences(canon(value), answer["value"])]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", PEERS)
def test_python_reads_what_peer_writes(lang: str) -> None:
    msgpack_value = {**COMMON, **MSGPACK_EXTRA}
    requests = [
        write_request(COMMON, "application/json", JOB),
        write_request(COMMON, "application/json", JOB, zlib=True),
        write_request(msgpack_value, "application/msgpack", JOB),
        write_request(msgpack_value, "application/msgpack", JOB, zlib=True),
    ]
    expected = [COMMON, COMMON, msgpack_value, msgpack_value]
    for envelope, value in zip(peer_write(lang, requests), expected, strict=True):
        assert decode(envelope, job=JOB).value == value


def test_integers_beyond_each_language() -> None:
    """uint64 above int64: Perl and Node read it exactly, PHP refuses it (no unsigned 64-bit int).
    A JSON integer above 2**53: every reader gives it back exactly (Node as a BigInt, where
    JSON.parse alone would round it)."""
    huge = 2**64 - 1
    msgpack_env = encode([huge], "msgpack", job=JOB)
    json_env = encode([2**53 + 1, -(2**53) - 1], "json", job=JOB)
    requests = [read_request(msgpack_env, JOB), read_request(json_env, JOB)]
    results = {lang: run_peer(lang, "read", requests) for lang in PEERS}
    assert results["perl"][0]["value"] == [huge]
    assert results["node"][0]["value"] == [huge]
    assert results["php"][0] == {
        "ok": False,
        "error": "decode",
        "message": results["php"][0]["message"],
    }
    for lang in PEERS:
        assert results[lang][1]["value"] == [2**53 + 1, -(2**53) - 1], lang


def test_a_json_integer_is_read_exactly_or_refused_never_rounded() -> None:
    """Python reads and writes the JSON integers of [-2**63, 2**64 - 1]; a literal beyond is
    refused (DecodeError) by Python and by every peer, never read as a rounded float. Inside
    the range, a peer refuses what it cannot hold (PHP: beyond PHP_INT_MAX)."""
    edges = [2**64 - 1, -(2**63), 2**63 - 1]
    inside = encode(edges, "json", job=JOB)
    outside = [
        b"GME/1 ct=application/json\n[18446744073709551616]",
        b"GME/1 ct=application/json\n[-9223372036854775809]",
        b'GME/1 ct=application/json\n{"n":"1e400 in a string","m":123456789012345678901234567890}',
    ]
    assert decode(inside, job=JOB).value == edges
    for blob in outside:
        with pytest.raises(DecodeError, match="outside the 64-bit range"):
            decode(blob, job=JOB)
    with pytest.raises(EncodeError):
        encode([2**64], "json", job=JOB)
    requests = [read_request(inside, JOB), *(read_request(blob, JOB) for blob in outside)]
    for lang in PEERS:
        answers = run_peer(lang, "read", requests)
        if lang == "php":
            assert answers[0]["ok"] is False and answers[0]["error"] == "decode"
        else:
            assert answers[0]["value"] == edges, lang
        assert [answer.get("error") for answer in answers[1:]] == ["decode"] * 3, (lang, answers)


def test_peers_write_no_json_number_python_would_misread() -> None:
    """What each peer's JSON writer makes of numbers it holds: Python reads exactly the double
    the peer held (Node writes an integer-valued double beyond 2**53 in exponent form, not the
    rounded digits JSON.stringify prints; Perl may write its exact digits), and a NaN or an
    infinity is refused, as Python refuses it (EncodeError), never written as null."""
    with pytest.raises(EncodeError, match="NaN and infinities"):
        encode([math.nan], "json", job=JOB)
    floats = [2.0**64, 2.0**60 + 2**8, 1.5e300]
    for lang in PEERS:
        (envelope,) = peer_write(lang, [write_request(floats, "application/json", JOB)])
        value = decode(envelope, job=JOB).value
        assert value == floats, (lang, envelope)  # int == float compares exact values
        for bad in (math.nan, math.inf):
            with pytest.raises(PeerFailed, match="JSON cannot carry"):
                peer_write(lang, [write_request([bad], "application/json", JOB)])


def test_invalid_utf8_in_a_msgpack_str_is_refused_everywhere() -> None:
    """A msgpack str holding invalid UTF-8 is a typed decode error in Python and in every peer
    (Node's @msgpack/msgpack would turn it into U+FFFD: the peer checks first)."""
    bad = b"GME/1 ct=application/msgpack\n\x91\xa2\xc3\x28"
    with pytest.raises(DecodeError):
        decode(bad, job=JOB)
    for lang in PEERS:
        (answer,) = run_peer(lang, "read", [read_request(bad, JOB)])
        assert (lang, answer.get("error")) == (lang, "decode"), answer


def nested_envelope(content_type: str, levels: int) -> bytes:
    """`levels` lists inside each other around the string "core", written by hand (orjson
    refuses to write that deep)."""
    if content_type == "application/json":
        body = b"[" * levels + b'"core"' + b"]" * levels
    else:
        body = b"\x91" * levels + b"\xa4core"
    return f"GME/1 ct={content_type}\n".encode() + body


def levels_around_core(value: Any) -> int:
    """How many lists wrap "core" (iterative: the value is too deep for == or recursion)."""
    levels = 0
    while isinstance(value, list) and len(value) == 1:
        value, levels = value[0], levels + 1
    assert value == "core"
    return levels


@pytest.mark.parametrize("content_type", ["application/json", "application/msgpack"])
def test_nesting_limit_is_the_same_everywhere(content_type: str) -> None:
    """1024 nested containers are read, 1025 are refused, by Python and by every peer."""
    at_limit, too_deep = (nested_envelope(content_type, n) for n in (1024, 1025))
    assert levels_around_core(decode(at_limit, job=JOB).value) == 1024
    with pytest.raises(DecodeError):
        decode(too_deep, job=JOB)
    requests = [read_request(at_limit, JOB), read_request(too_deep, JOB)]
    for lang in PEERS:
        ok, refused = run_peer(lang, "read", requests)
        assert ok["ok"], (lang, ok)
        assert levels_around_core(ok["value"]) == 1024, lang
        assert refused.get("error") == "decode", (lang, refused)


def test_object_key_starting_with_nul() -> None:
    """Perl and Node read a key that starts with NUL like Python; PHP refuses it (a decode error),
    as stdClass cannot hold such a property."""
    value = {"\x00hidden": 1, "plain": 2}
    requests = [read_request(encode(value, s, job=JOB), JOB) for s in ("json", "msgpack")]
    for lang in PEERS:
        for answer in run_peer(lang, "read", requests):
            if lang == "php":
                assert answer.get("error") == "decode", answer
            else:
                assert answer["ok"] and answer["value"] == value, (lang, answer)
