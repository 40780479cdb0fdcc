"""Golden vectors: the committed files equal the generator's output, and Python decodes each."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

import serializers
from serializers import DecodePolicy, decode
from tests.vectors import make_vectors

INDEX = json.loads((make_vectors.OUT_DIR / "vectors.json").read_text("ascii"))
VECTORS = INDEX["vectors"]


def _policy(spec: dict[str, Any]) -> DecodePolicy:
    return DecodePolicy(
        accept=frozenset(spec["accept"]),
        require_signature=spec["require_signature"],
        allow_unsigned_unsafe=spec["allow_unsigned_unsafe"],
        verify_keys={kid: bytes.fromhex(h) for kid, h in spec["verify_keys_hex"].items()},
        max_header_bytes=spec["max_header_bytes"],
        max_body_bytes=spec["max_body_bytes"],
        max_decoded_bytes=spec["max_decoded_bytes"],
        unenveloped=spec["unenveloped"],
    )


def test_committed_files_equal_generator_output() -> None:
    expected = make_vectors.build()
    on_disk = {p.name: p.read_bytes() for p in make_vectors.OUT_DIR.iterdir()}
    assert sorted(on_disk) == sorted(expected), "run python3 -m tests.vectors.make_vectors"
    for name, content in expected.items():
        assert _same_vector(on_disk[name], content), f"{name} is stale; regenerate the vectors"


def _same_vector(committed: bytes, generated: bytes) -> bool:
    """Byte-equal, or (zlib bodies only) equal once inflated: another zlib build may compress
    the same input to other bytes, which also changes a signature over them."""
    if committed == generated:
        return True
    head_a, _, body_a = committed.partition(b"\n")
    head_b, _, body_b = generated.partition(b"\n")
    if b" enc=zlib" not in head_b:
        return False
    unsigned_a, unsigned_b = head_a.split(b" sig=")[0], head_b.split(b" sig=")[0]
    return unsigned_a == unsigned_b and zlib.decompress(body_a) == zlib.decompress(body_b)


def test_index_covers_required_cases() -> None:
    names = {v["name"] for v in VECTORS}
    required = {
        "json_plain", "msgpack_plain", "json_zlib", "json_schema", "json_accept",
        "json_future_field", "signed_old_key", "signed_new_key", "unenveloped_opt_in",
        "no_marker", "version_2", "missing_ct", "duplicate_key", "bad_signature",
        "tampered_body", "wrong_job_name", "unknown_key_id", "sig_not_last", "oversize_header",
        "zlib_bomb", "content_type_not_accepted", "pickle_refused", "truncated_msgpack",
        "invalid_utf8_json",
    }  # fmt: skip
    assert required <= names
    assert {v.get("error_kind") for v in VECTORS if "error" in v} <= set(INDEX["error_kinds"])


def test_zlib_bomb_is_small_on_disk_but_inflates_huge() -> None:
    bomb = (make_vectors.OUT_DIR / "zlib_bomb.bin").read_bytes()
    assert len(bomb) < 16 * 1024
    entry = next(v for v in VECTORS if v["name"] == "zlib_bomb")
    assert entry["policy"]["max_decoded_bytes"] < 8 << 20


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_python_decodes_vector(vector: dict[str, Any]) -> None:
    data = (make_vectors.OUT_DIR / vector["file"]).read_bytes()
    policy = _policy(vector["policy"])
    if "error" in vector:
        expected_class = getattr(serializers, vector["error"])
        with pytest.raises(expected_class) as caught:
            decode(data, policy, job=vector["job"])
        assert type(caught.value).__name__ == vector["error"]
        return
    decoded = decode(data, policy, job=vector["job"])
    assert decoded.value == vector["value"]
    assert decoded.key_id == vector.get("key_id")
    assert decoded.signed is ("key_id" in vector)
    assert decoded.schema == vector.get("schema")
    assert list(decoded.accept) == vector.get("accept", [])


def test_the_vectors_default_policy_is_the_readers_default() -> None:
    """Peers read each vector under its policy, filled in from these defaults: they must be
    the defaults of DecodePolicy (and of the peers' readers)."""
    default = DecodePolicy()
    assert {
        "accept": sorted(default.accept),
        "require_signature": default.require_signature,
        "allow_unsigned_unsafe": default.allow_unsigned_unsafe,
        "verify_keys_hex": {},
        "max_header_bytes": default.max_header_bytes,
        "max_body_bytes": default.max_body_bytes,
        "max_decoded_bytes": default.max_decoded_bytes,
        "unenveloped": default.unenveloped,
    } == make_vectors.DEFAULT_POLICY
