"""Run the Perl, PHP and Node peers of interop/ as bounded subprocesses, and compare their values.

A peer prints values as "canonical JSON": bytes are {"$bytes": HEX}, non-finite floats
{"$float": "nan" | "inf" | "-inf"}, msgpack timestamps {"$timestamp": ISO-8601}. `canon` turns a
Python value into the same form so the two can be compared. A missing interpreter or a missing
`npm install` fails the test (FileNotFoundError or the peer's own error), it never skips.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from serializers import (
    BadSignature,
    ContentTypeNotAccepted,
    DecodeError,
    MalformedEnvelope,
    PayloadTooLarge,
    SerializerError,
    SignatureMissing,
    UnknownKey,
    UnsupportedVersion,
)

REPO = Path(__file__).resolve().parents[2]
PEER_COMMANDS: dict[str, list[str]] = {
    "perl": ["perl", str(REPO / "interop" / "perl" / "peer.pl")],
    "php": ["php", str(REPO / "interop" / "php" / "peer.php")],
    "node": ["node", str(REPO / "interop" / "node" / "peer.js")],
}
#: Seconds any single peer command may take; far above what they need (well under a second).
PEER_TIMEOUT = 60.0
# The refusal category each peer reports for each error class of serializers.decode.
_CATEGORIES: list[tuple[type[SerializerError], str]] = [
    (UnsupportedVersion, "unsupported-version"),
    (MalformedEnvelope, "malformed"),
    (ContentTypeNotAccepted, "not-accepted"),
    (PayloadTooLarge, "too-large"),
    (SignatureMissing, "signature-missing"),
    (UnknownKey, "unknown-key"),
    (BadSignature, "bad-signature"),
    (DecodeError, "decode"),
]


def category_of(exc: SerializerError) -> str:
    """The peers' name for the refusal that `exc` (from serializers.decode) stands for."""
    for cls, name in _CATEGORIES:
        if isinstance(exc, cls):
            return name
    return type(exc).__name__


class PeerFailed(AssertionError):
    """A peer exited non-zero, printed something that is not JSON, or ran out of time."""


def deep_json(text: bytes) -> Any:
    """json.loads for answers that hold values nested 1024 deep (past the default recursion
    limit, which the json module's C scanner obeys)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 5000))
    try:
        return json.loads(text)
    finally:
        sys.setrecursionlimit(limit)


def check_node_modules() -> None:
    """The Node peer needs `npm install` in interop/node; say so instead of a module stack trace."""
    if not (REPO / "interop" / "node" / "node_modules" / "gearman").is_dir():
        raise PeerFailed("interop/node/node_modules is missing: run scripts/setup.sh (npm install)")


def run_peer(
    lang: str, command: str, requests: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Send a batch of requests to `peer read` or `peer write` and return its JSON answers."""
    if lang == "node":
        check_node_modules()
    try:
        done = subprocess.run(
            [*PEER_COMMANDS[lang], command],
            input=json.dumps(list(requests)).encode(),
            capture_output=True,
            timeout=PEER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PeerFailed(f"{lang} {command} did not finish within {PEER_TIMEOUT}s") from exc
    if done.returncode != 0:
        raise PeerFailed(
            f"{lang} {command} exited {done.returncode}: {done.stderr.decode()[-3000:]}"
        )
    try:
        answers = deep_json(done.stdout)
    except ValueError as exc:
        raise PeerFailed(f"{lang} {command} printed no JSON: {done.stdout[:500]!r}") from exc
    if len(answers) != len(requests):
        raise PeerFailed(f"{lang} {command}: {len(answers)} answers for {len(requests)} requests")
    return list(answers)


def read_request(
    payload: bytes,
    job: str,
    keys: Mapping[str, bytes] | None = None,
    **policy: Any,
) -> dict[str, Any]:
    """One request for `peer read`: decode `payload` for `job`. `policy` takes the fields of the
    golden vectors' policies (accept, require_signature, max_header_bytes, max_body_bytes,
    max_decoded_bytes, unenveloped); the peers' defaults equal DecodePolicy's."""
    return {
        "payload_hex": payload.hex(),
        "job": job,
        "keys": {kid: secret.hex() for kid, secret in (keys or {}).items()},
        "policy": policy,
    }


def write_request(
    value: Any,
    content_type: str,
    job: str,
    *,
    key: tuple[str, bytes] | None = None,
    zlib: bool = False,
) -> dict[str, Any]:
    """One request for `peer write`: envelope `value` (sign it with `key` = (kid, secret))."""
    request: dict[str, Any] = {"value": _tag_big_ints(canon(value)), "ct": content_type, "job": job}
    request["zlib"] = zlib
    if key is not None:
        request["kid"], request["secret_hex"] = key[0], key[1].hex()
    return request


def _tag_big_ints(value: Any) -> Any:
    """Integers a JSON parser may round (beyond 2**53) travel as {"$int": DIGITS} to `write`."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return {"$int": str(value)}
    if isinstance(value, list):
        return [_tag_big_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _tag_big_ints(item) for key, item in value.items()}
    return value


def peer_write(lang: str, requests: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """Envelopes written by the peer, as bytes."""
    return [bytes.fromhex(answer["payload_hex"]) for answer in run_peer(lang, "write", requests)]


def canon(value: Any) -> Any:
    """`value` in the peers' canonical JSON form."""
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, dt.datetime):
        return {
            "$timestamp": value.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
        }
    if isinstance(value, list | tuple):
        return [canon(item) for item in value]
    if isinstance(value, dict):
        return {str(key): canon(item) for key, item in value.items()}
    return value


def differences(expected: Any, got: Any, where: str = "value") -> list[str]:
    """Where two canonical values differ. Numbers compare by value (JSON 1.0 may come back as 1
    from a peer), but a bool never equals a number."""
    if isinstance(expected, bool) or isinstance(got, bool):
        same = type(expected) is type(got) and expected == got
        return [] if same else [f"{where}: expected {expected!r}, got {got!r}"]
    if isinstance(expected, int | float) and isinstance(got, int | float):
        if isinstance(expected, float) or isinstance(got, float):  # 3e19 may come back as digits
            same = float(expected) == float(got)
        else:
            same = expected == got
        return [] if same else [f"{where}: expected {expected!r}, got {got!r}"]
    if isinstance(expected, dict) and isinstance(got, dict):
        if expected.keys() != got.keys():
            return [f"{where}: keys {sorted(expected)} != {sorted(got)}"]
        return [
            d for key in expected for d in differences(expected[key], got[key], f"{where}.{key}")
        ]
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{where}: {len(expected)} items expected, got {len(got)}"]
        return [
            d
            for i, pair in enumerate(zip(expected, got, strict=True))
            for d in differences(*pair, f"{where}[{i}]")
        ]
    if type(expected) is not type(got) or expected != got:
        return [f"{where}: expected {expected!r}, got {got!r}"]
    return []


@contextlib.contextmanager
def background_process(
    command: Sequence[str], *, env: Mapping[str, str] | None = None, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` (a peer worker, a Django worker) for the duration of a test, then stop it:
    SIGTERM to its own process group, SIGKILL after 10 s. Output goes to `log_path`."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=REPO,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
                try:
                    process.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue


def log_tail(path: Path, size: int = 3000) -> str:
    """The end of a background process's log, for assertion messages."""
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-size:]
    return ""


def django_worker_command(settings_module: str, servers: str) -> list[str]:
    """`manage.py gearman_worker` for one worker process, with the given settings module."""
    return [
        sys.executable,
        str(REPO / "manage.py"),
        "gearman_worker",
        "--workers=1",
        f"--servers={servers}",
        f"--settings={settings_module}",
    ]


def peer_client(
    lang: str,
    server: str,
    function: str,
    call: Mapping[str, Any],
    *,
    content_type: str = "application/json",
    key: tuple[str, bytes] | None = None,
    verify_key: tuple[str, bytes] | None = None,
    zlib: bool = False,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Submit one enveloped call with the Perl, PHP or Node client; returns the outcome it printed.
    `key` signs the call (and verifies the reply); `verify_key`, if given, verifies the reply."""
    if lang == "node":
        check_node_modules()
    command = [
        *PEER_COMMANDS[lang],
        "client",
        f"--server={server}",
        f"--function={function}",
        f"--call={json.dumps(call)}",
        f"--ct={content_type}",
        f"--timeout={timeout}",
    ]
    if key is not None:
        command.append(f"--key={key[0]}={key[1].hex()}")
    if verify_key is not None:
        command.append(f"--verify-key={verify_key[0]}={verify_key[1].hex()}")
    if zlib:
        command.append("--zlib")
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout + 15, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PeerFailed(f"{lang} client did not finish within {timeout + 15}s") from exc
    try:
        return dict(json.loads(done.stdout))
    except ValueError as exc:
        raise PeerFailed(
            f"{lang} client exited {done.returncode}: {done.stdout[:500]!r} "
            f"{done.stderr.decode()[-2000:]}"
        ) from exc
