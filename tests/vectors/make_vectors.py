"""Write the envelope v1 golden vectors (deterministic): `python3 -m tests.vectors.make_vectors`.

Each vector is a raw payload (`NAME.bin`) plus an entry in `vectors.json` that says which job name
and decoding policy to use and what must come out: a JSON value, or an error. Readers in other
languages (Perl, PHP, Node) run the same files; `error_kind` is the language-neutral category and
`error` the exact Python class.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

import msgpack

OUT_DIR = Path(__file__).resolve().parent / "envelope-v1"
JOB = "app.job"
KEY_OLD = ("k1", b"old-secret-0001")
KEY_NEW = ("k2", b"new-secret-0002")
ROTATION_KEYS = {KEY_OLD[0]: KEY_OLD[1].hex(), KEY_NEW[0]: KEY_NEW[1].hex()}
CALL = {"args": [1, "two", 3.5], "kwargs": {"flag": True, "name": "caf\u00e9"}}

ERROR_KINDS = {
    "MalformedEnvelope": "malformed",
    "UnsupportedVersion": "version",
    "ContentTypeNotAccepted": "content_type",
    "SignatureMissing": "signature",
    "UnknownKey": "signature",
    "BadSignature": "signature",
    "PayloadTooLarge": "too_large",
    "DecodeError": "decode",
}


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _sign(header: str, body: bytes, key: tuple[str, bytes], job: str = JOB) -> bytes:
    """Write the signed envelope by hand (independent of the library under test)."""
    head = f"{header} kid={key[0]}"
    mac = hmac.new(key[1], job.encode() + b"\n" + head.encode() + b"\n" + body, hashlib.sha256)
    return f"{head} sig={mac.hexdigest()}\n".encode() + body


def _env(header: str, body: bytes) -> bytes:
    return header.encode("ascii") + b"\n" + body


def _vectors() -> list[tuple[str, bytes, dict[str, Any]]]:
    """(name, payload, index entry without name/file) for every vector."""
    call_json = _json(CALL)
    big = {"args": ["abc" * 400], "kwargs": {}}
    signed_old = _sign("GME/1 ct=application/json", call_json, KEY_OLD)
    rotation = {"verify_keys_hex": ROTATION_KEYS}
    tampered = signed_old.replace(b'"two"', b'"TWO"')
    bad_sig = signed_old[: signed_old.index(b" sig=") + 5] + b"0" * 64 + call_json[:0]
    bad_sig += signed_old[signed_old.index(b"\n") :]
    return [
        ("json_plain", _env("GME/1 ct=application/json", call_json), {"value": CALL}),
        (
            "msgpack_plain",
            _env("GME/1 ct=application/msgpack", msgpack.packb(CALL, use_bin_type=True)),
            {"value": CALL},
        ),
        (
            "json_zlib",
            _env("GME/1 ct=application/json enc=zlib", zlib.compress(_json(big), 9)),
            {"value": big},
        ),
        (
            "json_schema",
            _env("GME/1 ct=application/json schema=shop.Order@2", _json({"id": 7})),
            {"value": {"id": 7}, "schema": "shop.Order@2"},
        ),
        (
            "json_accept",
            _env("GME/1 ct=application/json accept=application/msgpack,application/json", b"[]"),
            {"value": [], "accept": ["application/msgpack", "application/json"]},
        ),
        (
            "json_future_field",
            _env("GME/1 ct=application/json x-trace=4bf92f35 prio=high", b'"ok"'),
            {"value": "ok"},
        ),
        ("signed_old_key", signed_old, {"policy": rotation, "value": CALL, "key_id": "k1"}),
        (
            "signed_new_key",
            _sign("GME/1 ct=application/json", call_json, KEY_NEW),
            {"policy": rotation, "value": CALL, "key_id": "k2"},
        ),
        (
            "signed_zlib",
            _sign("GME/1 ct=application/json enc=zlib", zlib.compress(_json(big), 9), KEY_NEW),
            {"policy": {**rotation, "require_signature": True}, "value": big, "key_id": "k2"},
        ),
        (
            "text_plain",
            _env("GME/1 ct=text/plain", "h\u00e9llo".encode()),
            {"policy": {"accept": ["text/plain"]}, "value": "h\u00e9llo"},
        ),
        (
            "unenveloped_opt_in",
            call_json,
            {"policy": {"unenveloped": "application/json"}, "value": CALL},
        ),
        ("no_marker", call_json, {"error": "MalformedEnvelope"}),
        ("version_2", _env("GME/2 ct=application/json", b"{}"), {"error": "UnsupportedVersion"}),
        ("version_10", _env("GME/10 ct=application/json", b"{}"), {"error": "UnsupportedVersion"}),
        (
            "version_leading_zero",
            _env("GME/01 ct=application/json", b"{}"),
            {"error": "MalformedEnvelope"},
        ),
        ("version_zero", _env("GME/0 ct=application/json", b"{}"), {"error": "MalformedEnvelope"}),
        (
            "json_extra_fields",
            _env("GME/1 ct=application/json id=7f3a traceparent=00-4bf92f35-00f067aa-01", b"1"),
            {"value": 1},
        ),
        (
            "json_int_beyond_64_bits",
            _env("GME/1 ct=application/json", b'{"args":[18446744073709551616],"kwargs":{}}'),
            {"error": "DecodeError"},
        ),
        (
            "json_negative_int_beyond_64_bits",
            _env("GME/1 ct=application/json", b"[-9223372036854775809]"),
            {"error": "DecodeError"},
        ),
        (
            "json_number_too_large",
            _env("GME/1 ct=application/json", b"[1e400]"),
            {"error": "DecodeError"},
        ),
        ("json_nan_literal", _env("GME/1 ct=application/json", b"[NaN]"), {"error": "DecodeError"}),
        ("missing_ct", _env("GME/1 enc=zlib", b"{}"), {"error": "MalformedEnvelope"}),
        (
            "duplicate_key",
            _env("GME/1 ct=application/json ct=application/msgpack", b"{}"),
            {"error": "MalformedEnvelope"},
        ),
        ("double_space", _env("GME/1  ct=application/json", b"{}"), {"error": "MalformedEnvelope"}),
        (
            "crlf_header",
            b"GME/1 ct=application/json\r\n{}",
            {"error": "MalformedEnvelope"},
        ),
        ("unterminated_header", b"GME/1 ct=application/json", {"error": "MalformedEnvelope"}),
        (
            "kid_without_sig",
            _env("GME/1 ct=application/json kid=k1", b"{}"),
            {"policy": rotation, "error": "MalformedEnvelope"},
        ),
        ("bad_signature", bad_sig, {"policy": rotation, "error": "BadSignature"}),
        ("tampered_body", tampered, {"policy": rotation, "error": "BadSignature"}),
        (
            "wrong_job_name",
            _sign("GME/1 ct=application/json", call_json, KEY_OLD, job="app.other"),
            {"policy": rotation, "error": "BadSignature"},
        ),
        (
            "unknown_key_id",
            _sign("GME/1 ct=application/json", call_json, ("k9", b"retired-secret")),
            {"policy": rotation, "error": "UnknownKey"},
        ),
        (
            "sig_not_last",
            signed_old.replace(b" kid=k1 sig=", b" sig=", 1).replace(b"\n", b" kid=k1\n", 1),
            {"policy": rotation, "error": "MalformedEnvelope"},
        ),
        (
            "unsigned_but_required",
            _env("GME/1 ct=application/json", call_json),
            {"policy": {**rotation, "require_signature": True}, "error": "SignatureMissing"},
        ),
        (
            "oversize_header",
            _env("GME/1 ct=application/json x-pad=" + "p" * 300, b"{}"),
            {"policy": {"max_header_bytes": 256}, "error": "PayloadTooLarge"},
        ),
        (
            "oversize_body",
            _env("GME/1 ct=application/json", _json(["x" * 2000])),
            {"policy": {"max_body_bytes": 1024}, "error": "PayloadTooLarge"},
        ),
        (
            "zlib_bomb",
            _env("GME/1 ct=application/json enc=zlib", zlib.compress(b" " * (8 << 20), 9)),
            {"policy": {"max_decoded_bytes": 1 << 20}, "error": "PayloadTooLarge"},
        ),
        (
            "zlib_corrupt",
            _env("GME/1 ct=application/json enc=zlib", b"not zlib at all"),
            {"error": "DecodeError"},
        ),
        (
            "unknown_encoding",
            _env("GME/1 ct=application/json enc=br", b"{}"),
            {"error": "ContentTypeNotAccepted"},
        ),
        (
            "content_type_not_accepted",
            _env("GME/1 ct=application/msgpack", msgpack.packb(CALL)),
            {"policy": {"accept": ["application/json"]}, "error": "ContentTypeNotAccepted"},
        ),
        (
            "pickle_refused",
            _env("GME/1 ct=application/x-python-pickle", pickle.dumps(CALL, protocol=5)),
            {
                "policy": {"accept": ["application/json", "application/x-python-pickle"]},
                "error": "SignatureMissing",
            },
        ),
        (
            "pickle_not_accepted",
            _env("GME/1 ct=application/x-python-pickle", pickle.dumps(CALL, protocol=5)),
            {"error": "ContentTypeNotAccepted"},
        ),
        (
            "truncated_msgpack",
            _env("GME/1 ct=application/msgpack", msgpack.packb(CALL, use_bin_type=True)[:-3]),
            {"error": "DecodeError"},
        ),
        (
            "invalid_utf8_json",
            _env("GME/1 ct=application/json", b'{"args":["\xff\xfe"],"kwargs":{}}'),
            {"error": "DecodeError"},
        ),
    ]


DEFAULT_POLICY = {
    "accept": ["application/json", "application/msgpack"],
    "require_signature": False,
    "allow_unsigned_unsafe": False,
    "verify_keys_hex": {},
    "max_header_bytes": 8192,
    "max_body_bytes": 16 << 20,
    "max_decoded_bytes": 64 << 20,
    "unenveloped": None,
}


def build() -> dict[str, bytes]:
    """Every file of the vector directory, by name (the index is `vectors.json`)."""
    files: dict[str, bytes] = {}
    index: list[dict[str, Any]] = []
    for name, payload, spec in _vectors():
        entry: dict[str, Any] = {"name": name, "file": f"{name}.bin", "job": JOB}
        entry["policy"] = {**DEFAULT_POLICY, **spec.get("policy", {})}
        if "error" in spec:
            entry["error"] = spec["error"]
            entry["error_kind"] = ERROR_KINDS[spec["error"]]
        else:
            entry["value"] = spec["value"]
            for extra in ("key_id", "schema", "accept"):
                if extra in spec:
                    entry[extra] = spec[extra]
        files[entry["file"]] = payload
        index.append(entry)
    text = json.dumps(
        {
            "format": "django-gearman envelope v1 golden vectors",
            "error_kinds": sorted(set(ERROR_KINDS.values())),
            "vectors": index,
        },
        indent=1,
        ensure_ascii=True,
    )
    files["vectors.json"] = (text + "\n").encode("ascii")
    return files


def main() -> None:
    """Rewrite the directory (stale files removed) so it equals `build()`."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    files = build()
    for stale in OUT_DIR.iterdir():
        if stale.name not in files:
            stale.unlink()
    for name, content in files.items():
        (OUT_DIR / name).write_bytes(content)
    print(f"wrote {len(files)} files to {OUT_DIR}")


if __name__ == "__main__":
    main()
