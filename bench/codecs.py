"""Section 1: what turning a job's arguments into bytes and back costs, per job.

Bare codecs first (orjson, msgpack, pickle, the pydantic call schema, stdlib json as the
baseline), then the envelope's added cost over bare orjson (and, for json, over the json
serializer alone): plain, signed, zlib.
"""

from __future__ import annotations

import functools
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import orjson
from pydantic import BaseModel

from bench.measure import best_seconds_per_call
from bench.plots import bar_chart
from bench.report import Report, Table, fmt_ratio, fmt_us

JOB_NAME = "bench.codec_job"
# orjson plus the serializer's own checks (NaN on encode, 64-bit integers on decode): the part of
# the envelope's added cost over bare orjson that is not the envelope's.
JSON_SERIALIZER = "json serializer (orjson + checks)"


class Item(BaseModel):
    id: int
    name: str
    price: float
    tags: list[str]
    active: bool


def small_job(email: str, user_id: int, ratio: float, active: bool, *, tags: list[str]) -> None:
    """The signature the pydantic schema validates the small call against."""


def medium_job(items: list[Item], *, page: int) -> None:
    """The signature the pydantic schema validates the medium call against."""


def small_call() -> dict[str, Any]:
    """About 100 bytes of JSON: a handful of scalars and a short list."""
    return {
        "args": ["user-42@example.com", 42, 3.25, True],
        "kwargs": {"tags": ["resize", "thumbnail", "jpeg"]},
    }


def medium_call() -> dict[str, Any]:
    """About 10 KB of JSON: a page of records."""
    items = [
        {
            "id": i,
            "name": f"item-{i:04d}",
            "price": 10.5 + i,
            "tags": ["x", "y"],
            "active": i % 2 == 0,
        }
        for i in range(125)
    ]
    return {"args": [items], "kwargs": {"page": 3}}


SIZES: dict[str, tuple[Callable[[], dict[str, Any]], Callable[..., None]]] = {
    "small": (small_call, small_job),
    "medium": (medium_call, medium_job),
}


@dataclass(frozen=True)
class Codec:
    name: str
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


def bare_codecs(size: str) -> list[Codec]:
    from serializers import Call, JsonSerializer, SchemaSerializer

    schema = SchemaSerializer(SIZES[size][1])
    json_serializer = JsonSerializer()
    return [
        Codec("json (orjson)", orjson.dumps, orjson.loads),
        Codec(JSON_SERIALIZER, json_serializer.encode, json_serializer.decode),
        Codec("msgpack", msgpack.packb, msgpack.unpackb),
        Codec("pickle (protocol 5)", lambda v: pickle.dumps(v, protocol=5), pickle.loads),
        Codec(
            "pydantic call schema",
            lambda v: schema.encode(Call(tuple(v["args"]), v["kwargs"])),
            schema.decode,
        ),
        Codec("stdlib json (baseline)", lambda v: json.dumps(v).encode(), json.loads),
    ]


def envelope_codecs() -> list[Codec]:
    from serializers import DecodePolicy, SigningKey, decode, encode

    key = SigningKey("bench", b"bench-secret-of-32-bytes-long!!!")
    plain_policy = DecodePolicy(accept=frozenset({"application/json", "application/msgpack"}))
    signed_policy = DecodePolicy(
        accept=frozenset({"application/json"}),
        verify_keys={"bench": key.secret},
        require_signature=True,
    )
    return [
        Codec(
            "envelope json",
            lambda v: encode(v, "json", job=JOB_NAME),
            lambda b: decode(b, plain_policy, job=JOB_NAME).value,
        ),
        Codec(
            "envelope json + HMAC",
            lambda v: encode(v, "json", job=JOB_NAME, signing_key=key),
            lambda b: decode(b, signed_policy, job=JOB_NAME).value,
        ),
        Codec(
            "envelope json + zlib",
            lambda v: encode(v, "json", job=JOB_NAME, compress="zlib", compress_min_bytes=0),
            lambda b: decode(b, plain_policy, job=JOB_NAME).value,
        ),
        Codec(
            "envelope msgpack",
            lambda v: encode(v, "msgpack", job=JOB_NAME),
            lambda b: decode(b, plain_policy, job=JOB_NAME).value,
        ),
    ]


@dataclass(frozen=True)
class CodecCost:
    size_bytes: int
    encode: float
    decode: float

    @property
    def total(self) -> float:
        return self.encode + self.decode


def measure_codecs(
    codecs: list[Codec], value: Any, seconds: float, repeats: int
) -> dict[str, CodecCost]:
    """Encode and decode cost of each codec for ``value``, all measured interleaved."""
    blobs = {codec.name: codec.encode(value) for codec in codecs}
    functions: dict[str, Callable[[], object]] = {}
    for codec in codecs:
        blob = blobs[codec.name]
        if codec.decode(blob) is None:
            raise AssertionError(f"{codec.name} decoded to None")
        functions[f"{codec.name}:encode"] = functools.partial(codec.encode, value)
        functions[f"{codec.name}:decode"] = functools.partial(codec.decode, blob)
    best = best_seconds_per_call(functions, seconds, repeats)
    return {
        codec.name: CodecCost(
            len(blobs[codec.name]), best[f"{codec.name}:encode"], best[f"{codec.name}:decode"]
        )
        for codec in codecs
    }


def run(report: Report, seconds: float, repeats: int, out: Path) -> None:
    bare = Table(
        "codecs",
        "1. Codec cost per job (encode + decode, microseconds, best of interleaved repeats)",
        ["codec", "args", "bytes", "encode us", "decode us", "total us", "vs orjson"],
    )
    envelope = Table(
        "envelope",
        "1b. Envelope cost over bare orjson (encode + decode per job)",
        ["variant", "args", "bytes", "total us", "ratio to orjson", "added us", "of it envelope"],
        notes=[
            "zlib row: compress_min_bytes=0 to measure compression itself; by default bodies "
            "under 1 KiB are sent uncompressed. Signed: HMAC-SHA256 over job name, header, body.",
            "'added us' is over bare orjson (the target); 'of it envelope' is over the json "
            "serializer alone, whose NaN and 64-bit checks make the rest.",
        ],
    )
    for size, (make_value, _) in SIZES.items():
        value = make_value()
        bare_list, envelope_list = bare_codecs(size), envelope_codecs()
        costs = measure_codecs(bare_list + envelope_list, value, seconds, repeats)
        baseline = costs[bare_list[0].name]
        for codec in bare_list:
            cost = costs[codec.name]
            report.metrics[f"codec.{size}.{codec.name}.us"] = cost.total * 1e6
            bare.add(
                codec.name,
                size,
                cost.size_bytes,
                fmt_us(cost.encode),
                fmt_us(cost.decode),
                fmt_us(cost.total),
                fmt_ratio(cost.total / baseline.total),
            )
        for codec in envelope_list:
            cost = costs[codec.name]
            added = cost.total - baseline.total
            report.metrics[f"envelope.{size}.{codec.name}.us"] = cost.total * 1e6
            report.metrics[f"envelope.{size}.{codec.name}.added_us"] = added * 1e6
            own = "-"
            if "json" in codec.name:
                own_seconds = cost.total - costs[JSON_SERIALIZER].total
                report.metrics[f"envelope.{size}.{codec.name}.own_us"] = own_seconds * 1e6
                own = fmt_us(own_seconds)
            envelope.add(
                codec.name,
                size,
                cost.size_bytes,
                fmt_us(cost.total),
                fmt_ratio(cost.total / baseline.total),
                fmt_us(added),
                own,
            )
    report.tables += [bare, envelope]
    groups = {
        f"{size} args ({len(orjson.dumps(make_value()))} bytes of JSON)": {
            name.split(".", 2)[2].removesuffix(".us"): value
            for name, value in report.metrics.items()
            if name.startswith((f"codec.{size}.", f"envelope.{size}."))
            and name.endswith(".us")
            and not name.endswith(("added_us", "own_us"))
        }
        for size, (make_value, _) in SIZES.items()
    }
    report.figures.append(
        bar_chart(
            out / "codecs.png", "Encode + decode per job (lower is better)", "microseconds", groups
        ).name
    )


def django_stack_costs(report: Report, seconds: float, repeats: int) -> None:
    """1c: what the Django layer adds per job without any I/O (hot, in this process).

    The eager round trip runs the client and worker code paths of one typed job in-process, so
    it minus the client's two steps approximates the worker's share.
    """
    from bench.djangosite import setup_django

    setup_django()
    from bench.djangosite.gearman_jobs import echo
    from django_gearman.calls import job_spec

    text = "0123456789abcdef"
    spec = job_spec(echo)
    eager = echo.using(eager=True)
    call_blob = spec.encode_call([text], {})
    from serializers import encode

    result_blob = encode(text, "json", job=spec.wire_name)  # what the worker answers
    if spec.decode_result(result_blob) != text:
        raise AssertionError("the result envelope did not decode to the echoed text")
    functions: dict[str, Callable[[], object]] = {
        "client: encode + validate the call (JobSpec.encode_call)": functools.partial(
            spec.encode_call, [text], {}
        ),
        "client: decode + validate the result (JobSpec.decode_result)": functools.partial(
            spec.decode_result, result_blob
        ),
        "eager round trip (job.using(eager=True).submit)": functools.partial(eager.submit, text),
    }
    best = best_seconds_per_call(functions, seconds, repeats)
    table = Table(
        "django_stack",
        "1c. The Django layer's own cost per typed job, no I/O (microseconds, best of repeats)",
        ["step", "us per job"],
    )
    for name, cost in best.items():
        table.add(name, fmt_us(cost))
    report.metrics["django_stack.eager_us"] = (
        best["eager round trip (job.using(eager=True).submit)"] * 1e6
    )
    table.notes.append(
        f"Typed job echo(text: str) -> str, call envelope {len(call_blob)} bytes. The eager "
        "round trip is the client's and the worker's codec and validation work together."
    )
    report.tables.append(table)
