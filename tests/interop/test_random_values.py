"""Seeded random values (every JSON and msgpack type, nested) cross between Python and each peer.

A fixed seed keeps the run reproducible; each content type sends a few hundred values in one batch
per peer, so the test stays fast. Python writes and the peer reads, then the peer writes the same
values back and Python reads them.
"""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import pytest

from serializers import decode, encode
from tests.interop import peers

PEERS = ["perl", "php", "node"]
JOB = "interop.random"
COUNT = 150
SEED = 20101122
ALPHABET = (
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0x00, 0x20)]
    + list("\u00e9\u00fc\u00df\u00a0\u2028\u2029\u20ac\u4e2d\u6587\ufeff\uffff")
    + ["\U0001f389", "\U0001d11e", "\U0010fffd"]
)


class Values:
    """Random values a content type can carry (JSON: no bytes, integers within +-2**53 so that
    Node's JSON.parse keeps them; msgpack: bytes and the whole int64 range)."""

    def __init__(self, rng: random.Random, content_type: str) -> None:
        self.rng = rng
        self.msgpack = content_type == "application/msgpack"

    def any(self, depth: int = 0) -> Any:
        kinds = ["none", "bool", "int", "float", "str"] + (["bytes"] if self.msgpack else [])
        if depth < 4:
            kinds += ["list", "dict"] * 2
        return getattr(self, "make_" + self.rng.choice(kinds))(depth)

    def make_none(self, depth: int) -> None:
        return None

    def make_bool(self, depth: int) -> bool:
        return self.rng.random() < 0.5

    def make_int(self, depth: int) -> int:
        bits = self.rng.choice([5, 8, 16, 32, 53] + ([63] if self.msgpack else []))
        return self.rng.randint(-(2**bits), 2**bits - 1)

    def make_float(self, depth: int) -> float:
        while True:
            value = struct.unpack("<d", self.rng.getrandbits(64).to_bytes(8, "little"))[0]
            value = self.rng.choice(
                [value, self.rng.uniform(-1e6, 1e6), round(self.rng.random(), 3)]
            )
            if math.isfinite(value):
                return value

    def make_str(self, depth: int) -> str:
        return "".join(self.rng.choice(ALPHABET) for _ in range(self.rng.randint(0, 24)))

    def make_bytes(self, depth: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, 24))

    def make_list(self, depth: int) -> list[Any]:
        return [self.any(depth + 1) for _ in range(self.rng.randint(0, 5))]

    def make_dict(self, depth: int) -> dict[str, Any]:
        """Keys never start with NUL: PHP objects cannot hold such a key (test_roundtrip.py)."""
        keys = [self.make_str(depth).lstrip("\x00") for _ in range(self.rng.randint(0, 5))]
        return {key: self.any(depth + 1) for key in keys}


def random_values(content_type: str) -> list[Any]:
    rng = random.Random(f"{SEED}-{content_type}")
    values = Values(rng, content_type)
    return [values.any() for _ in range(COUNT)]


@pytest.mark.parametrize("content_type", ["application/json", "application/msgpack"])
@pytest.mark.parametrize("lang", PEERS)
def test_random_values_python_to_peer(lang: str, content_type: str) -> None:
    values = random_values(content_type)
    serializer = content_type.split("/")[1]
    envelopes = [
        encode(
            value,
            serializer,
            job=JOB,
            compress="zlib" if i % 3 == 0 else None,
            compress_min_bytes=0,
        )
        for i, value in enumerate(values)
    ]
    answers = peers.run_peer(
        lang, "read", [peers.read_request(envelope, JOB) for envelope in envelopes]
    )
    problems = []
    for i, (value, answer) in enumerate(zip(values, answers, strict=True)):
        if not answer["ok"]:
            problems.append(f"value {i} {value!r:.80}: refused {answer}")
        else:
            problems += [
                f"value {i}: {d}" for d in peers.differences(peers.canon(value), answer["value"])
            ]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("content_type", ["application/json", "application/msgpack"])
@pytest.mark.parametrize("lang", PEERS)
def test_random_values_peer_to_python(lang: str, content_type: str) -> None:
    values = random_values(content_type)
    requests = [
        peers.write_request(value, content_type, JOB, zlib=i % 3 == 0)
        for i, value in enumerate(values)
    ]
    envelopes = peers.peer_write(lang, requests)
    problems = []
    for i, (value, envelope) in enumerate(zip(values, envelopes, strict=True)):
        got = decode(envelope, job=JOB).value
        if got != value:
            problems.append(f"value {i}: wrote {value!r:.200}, python read {got!r:.200}")
    assert not problems, "\n".join(problems[:20])
