"""docs/envelope.md says what the code does: limits, version grammar, examples, signed name.

The spec is the contract a stranger implements from the text alone, so its numbers and examples
are checked against the code here (and the README's and docs/serializers.md's copies of them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from django_gearman.conf import DEFAULTS
from serializers import (
    DecodeError,
    DecodePolicy,
    MalformedEnvelope,
    SigningKey,
    UnsupportedVersion,
    decode,
    encode,
)
from serializers.builtin import JSON_INT_MAX, JSON_INT_MIN, JSON_MAX_DEPTH
from serializers.envelope import MAX_BODY_BYTES, MAX_DECODED_BYTES, MAX_HEADER_BYTES

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "docs" / "envelope.md").read_text("utf-8")
UNITS = {"KiB": 1024, "MiB": 1024 * 1024}


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def _limits_table() -> dict[str, str]:
    table = SPEC.split("<!-- limits:start -->", 1)[1].split("<!-- limits:end -->", 1)[0]
    rows = [line.split("|")[1:-1] for line in table.strip().splitlines()[2:]]
    return {cells[0].strip(): cells[1].strip() for cells in rows}


def _size(text: str) -> int:
    """'16 MiB (16777216 bytes)' -> 16777216, checking that both forms agree."""
    found = re.fullmatch(r"(\d+) (KiB|MiB)(?: \((\d+) bytes\))?", text)
    assert found, f"not a size: {text!r}"
    size = int(found.group(1)) * UNITS[found.group(2)]
    assert found.group(3) is None or int(found.group(3)) == size, text
    return size


def test_the_limits_table_shows_the_codes_values() -> None:
    limits = _limits_table()
    assert _size(limits["header line, LF excluded"]) == MAX_HEADER_BYTES
    assert _size(limits["body as sent (compressed, if `enc` is set)"]) == MAX_BODY_BYTES
    decompressed = limits["body after decompression (or an uncompressed body)"]
    assert _size(decompressed) == MAX_DECODED_BYTES
    assert limits["nesting of arrays and objects (maps)"] == f"{JSON_MAX_DEPTH} levels"
    assert limits["JSON integers"].startswith(f"{JSON_INT_MIN} to {JSON_INT_MAX} ")
    policy = DecodePolicy()
    assert (policy.max_header_bytes, policy.max_body_bytes, policy.max_decoded_bytes) == (
        MAX_HEADER_BYTES,
        MAX_BODY_BYTES,
        MAX_DECODED_BYTES,
    )


def test_the_readme_and_the_serializers_page_show_the_same_limits() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    settings = dict(re.findall(r"^\| `(GEARMAN_MAX_\w+)` \| ([^|]+?) \|", readme, re.M))
    assert _size(settings["GEARMAN_MAX_PAYLOAD_SIZE"]) == MAX_BODY_BYTES
    assert _size(settings["GEARMAN_MAX_DECOMPRESSED_SIZE"]) == MAX_DECODED_BYTES
    assert DEFAULTS["GEARMAN_MAX_PAYLOAD_SIZE"] == MAX_BODY_BYTES
    assert DEFAULTS["GEARMAN_MAX_DECOMPRESSED_SIZE"] == MAX_DECODED_BYTES
    page = (ROOT / "docs" / "serializers.md").read_text("utf-8")
    policy = dict(re.findall(r"^\| `(max_\w+_bytes)` \| ([^|]+?) \|", page, re.M))
    assert _size(policy["max_header_bytes"]) == MAX_HEADER_BYTES
    assert _size(policy["max_body_bytes"]) == MAX_BODY_BYTES
    assert _size(policy["max_decoded_bytes"]) == MAX_DECODED_BYTES


def test_the_version_grammar_is_the_codes() -> None:
    assert "version   = %x31-39 *8DIGIT" in SPEC
    for marker in ("GME/01", "GME/0", "GME/", "GME/1x", "GME/1000000000"):
        assert f"`{marker}`" in SPEC or marker == "GME/1000000000"
        with pytest.raises(MalformedEnvelope) as caught:
            decode(marker.encode() + b" ct=application/json\n{}")
        assert type(caught.value) is MalformedEnvelope, marker
    for marker in ("GME/2", "GME/10"):
        with pytest.raises(UnsupportedVersion):
            decode(marker.encode() + b" ct=application/json\n{}")


def _example_lines() -> list[tuple[bytes, str]]:
    block = _section(SPEC, "## Examples").split("```\n", 2)[1]
    examples = []
    for line in block.splitlines():
        payload = re.split(r" {2,}", line, maxsplit=1)[0]
        note = line[len(payload) :].strip()
        if "<" not in payload:
            examples.append((payload.replace("\\n", "\n").encode(), note))
    return examples


def test_every_example_decodes_as_its_note_says() -> None:
    examples = _example_lines()
    assert len(examples) >= 10
    errors = {
        "(malformed": MalformedEnvelope,
        "(unsupported version)": UnsupportedVersion,
        "(DecodeError": DecodeError,
    }
    policy = DecodePolicy(accept={"application/json", "text/plain"})
    for payload, note in examples:
        expected = next(
            (error for prefix, error in errors.items() if note.startswith(prefix)), None
        )
        if expected is None:
            decode(payload, policy)
            continue
        with pytest.raises(expected) as caught:
            decode(payload, policy)
        assert type(caught.value) is expected, (payload, caught.value)


def test_the_signed_example_is_current_and_binds_the_mapped_function_name() -> None:
    section = _section(SPEC, "## Signatures")
    assert "the job `reverse` is submitted as `shop.reverse`" in section
    blob = encode(
        {"args": [1], "kwargs": {}},
        job="shop.reverse",
        signing_key=SigningKey("k1", b"old-secret-0001"),
    )
    header, body = blob.split(b"\n", 1)
    assert header.decode() + "\n" + body.decode() in section
    signed = header[: header.index(b" sig=")].decode()
    assert f"`shop.reverse\\n{signed}\\n{body.decode()}`" in section


def test_the_error_envelope_example_has_the_documented_keys() -> None:
    section = _section(SPEC, "## Job values")
    example = section.split("```\n", 2)[1].split("```", 1)[0].strip().encode()
    error = decode(example).value["error"]
    table = re.findall(r"^\| `(\w+)` \| (yes|no) \|", section, re.M)
    assert set(error) == {key for key, _ in table}
    assert {key for key, required in table if required == "yes"} == {"type", "message", "traceback"}
    assert error["refused"] is True and error["errors"][0]["loc"] == "kwargs.rush"


def test_the_spec_states_each_rule_once_the_way_the_code_does() -> None:
    """The rules a stranger needs and cannot guess (each was missing or contradicted the code)."""
    checks = _section(SPEC, "## Checks on decode, in this order")
    assert "**no `ct`**" in checks and "**`kid` without `sig`**" in checks
    assert "a **django-gearman job**\naccepts its own serializer's type plus the types" in checks
    assert "refuses a msgpack call with `ContentTypeNotAccepted`" in checks
    values = _section(SPEC, "## Job values")
    assert "`ValidationFailed` of type `call_shape`" in values
    reply = values.split("### Reply content type", 1)[1]
    assert "it does not run the job and answers with a\n   refused error envelope" in reply
    assert "Error envelopes are JSON in every case" in reply
    limits = _section(SPEC, "## Limits")
    assert "**including the job call's own\n  wrapper**" in limits
    types = _section(SPEC, "## Content types")
    for needed in ("`Decimal`", "`datetime`", "`UUID`", "`bytes`", "NaN", "`1e400`"):
        assert needed in types, needed
