"""Every golden vector of envelope v1 reads the same in Perl, PHP and Node as in Python.

The vectors (tests/vectors/envelope-v1/, index vectors.json) are owned by the serializers layer.
Each names a job, a decoding policy, and either the value that must come out or the error. The
peers must give the same value, or refuse with the same category of error as serializers.decode.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from serializers import DecodePolicy, SerializerError, decode
from tests.interop.peers import canon, category_of, differences, read_request, run_peer

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors" / "envelope-v1"
VECTORS: list[dict[str, Any]] = json.loads((VECTOR_DIR / "vectors.json").read_text())["vectors"]
PEERS = ["perl", "php", "node"]


def python_outcome(vector: dict[str, Any]) -> dict[str, Any]:
    """What serializers.decode makes of the vector, in the peers' answer format."""
    policy = dict(vector["policy"])
    keys = {kid: bytes.fromhex(hex_) for kid, hex_ in policy.pop("verify_keys_hex").items()}
    payload = (VECTOR_DIR / vector["file"]).read_bytes()
    try:
        decoded = decode(payload, DecodePolicy(**policy, verify_keys=keys), job=vector["job"])
    except SerializerError as exc:
        return {"ok": False, "error": category_of(exc), "python_error": type(exc).__name__}
    return {"ok": True, "ct": decoded.content_type, "value": decoded.value}


def peer_request(vector: dict[str, Any]) -> dict[str, Any]:
    policy = dict(vector["policy"])
    keys = {kid: bytes.fromhex(hex_) for kid, hex_ in policy.pop("verify_keys_hex").items()}
    policy.pop("allow_unsigned_unsafe")  # the peers can never read pickle: nothing to allow
    payload = (VECTOR_DIR / vector["file"]).read_bytes()
    return read_request(payload, vector["job"], keys, **policy)


def test_the_index_lists_both_values_and_refusals() -> None:
    """Guard against an empty or one-sided index making the peer tests pass vacuously."""
    assert sum("value" in v for v in VECTORS) >= 5
    assert sum("error" in v for v in VECTORS) >= 10
    for vector in VECTORS:
        assert (VECTOR_DIR / vector["file"]).is_file(), vector["file"]


@pytest.fixture(scope="module")
def python_outcomes() -> dict[str, dict[str, Any]]:
    outcomes = {vector["name"]: python_outcome(vector) for vector in VECTORS}
    for vector in VECTORS:  # Python itself agrees with the index (the serializers tests say more)
        got = outcomes[vector["name"]]
        if "error" in vector:
            assert got.get("python_error") == vector["error"], (vector["name"], got)
        else:
            assert got["ok"] and got["value"] == vector["value"], (vector["name"], got)
    return outcomes


@pytest.mark.parametrize("lang", PEERS)
def test_peer_reads_every_vector_like_python(lang: str, python_outcomes: dict[str, Any]) -> None:
    answers = run_peer(lang, "read", [peer_request(vector) for vector in VECTORS])
    problems: list[str] = []
    for vector, answer in zip(VECTORS, answers, strict=True):
        name, expected = vector["name"], python_outcomes[vector["name"]]
        if expected["ok"] != answer["ok"]:
            problems.append(f"{name}: python {expected}, {lang} {answer}")
        elif not expected["ok"] and expected["error"] != answer["error"]:
            problems.append(f"{name}: python refuses as {expected['error']}, {lang} as {answer}")
        elif expected["ok"]:
            if answer["ct"] != expected["ct"]:
                problems.append(f"{name}: content type {answer['ct']} != {expected['ct']}")
            want = canon(expected["value"])
            problems += [f"{name}: {d}" for d in differences(want, answer["value"])]
    assert not problems, "\n".join(problems)
