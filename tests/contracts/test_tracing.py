"""Trace context from a client process through gearmand to a worker process, and its absence.

Both processes run OpenTelemetry's SDK with the in-memory exporter (tests.contracts.span_dump
copies each finished span to a file, since they are not this process). The call envelope is
signed: the traceparent is covered by the signature, so the peers refuse a tampered one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from django_gearman.calls import job_spec
from serializers import BadSignature, DecodePolicy, decode
from tests.contracts.contract_jobs.gearman_jobs import traced
from tests.contracts.support import COMMAND_TIMEOUT, contract_env
from tests.django.support import ROOT, WorkerProcess, wait_until
from tests.interop.peers import read_request, run_peer
from tests.support.gearmand import Gearmand

KEYS = {"k1": "a-secret-for-the-trace-tests"}
SIGNED = {"TEST_GEARMAN_SIGNING_KEYS": json.dumps(KEYS)}


def client_process(*args: str, spans: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.contracts.traced_client", *args],
        cwd=ROOT,
        env=contract_env(TEST_CONTRACTS_SPANS=str(spans), **SIGNED),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def spans_in(path: Path) -> dict[str, dict[str, Any]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return {record["name"]: record for record in map(json.loads, lines)}


def messaging(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record["attributes"].items() if k.startswith("messaging.")}


@pytest.mark.parametrize("job", ["contracts.traced", "contracts.failing_traced"])
def test_trace_crosses_client_gearmand_worker(
    live: Gearmand, contract_worker: Callable[..., WorkerProcess], tmp_path: Path, job: str
) -> None:
    worker_spans, client_spans = tmp_path / "worker.jsonl", tmp_path / "client.jsonl"
    contract_worker(wait_for=job, env={"TEST_CONTRACTS_SPANS": str(worker_spans), **SIGNED})
    answer = client_process("submit", live.address, job, "hello", spans=client_spans)
    expected = {"result": "HELLO"} if job == "contracts.traced" else {"failed": "ValueError"}
    assert answer == expected
    client = spans_in(client_spans)
    request, create = client["request"], client[f"create {job}"]
    assert create["kind"] == "PRODUCER" and create["parent_id"] == request["span_id"]
    assert messaging(create) == {
        "messaging.system": "gearman",
        "messaging.operation.type": "create",
        "messaging.operation.name": "create",
        "messaging.destination.name": job,
    }
    wait_until(lambda: f"process {job}" in spans_in(worker_spans), 30, "the worker's span")
    process = spans_in(worker_spans)[f"process {job}"]
    assert process["kind"] == "CONSUMER"
    assert process["trace_id"] == request["trace_id"]
    assert process["parent_id"] == create["span_id"]
    assert process["links"] == [create["span_id"]]
    attributes = messaging(process)
    assert attributes["messaging.system"] == "gearman"
    assert attributes["messaging.operation.type"] == "process"
    assert attributes["messaging.destination.name"] == job
    assert attributes["messaging.message.id"].startswith("H:")
    assert attributes["messaging.message.body.size"] > 0
    if job == "contracts.traced":
        inside = spans_in(worker_spans)["inside the job"]
        assert inside["parent_id"] == process["span_id"] and process["status"] == "UNSET"
    else:
        assert process["status"] == "ERROR"


@pytest.fixture(scope="module")
def signed_traced_payload(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    spans = tmp_path_factory.mktemp("spans") / "client.jsonl"
    answer = client_process("payload", "contracts.traced", "hi", spans=spans)
    return bytes.fromhex(answer["payload_hex"])


def test_traceparent_is_in_the_header_and_signed(signed_traced_payload: bytes) -> None:
    keys = {kid: secret.encode() for kid, secret in KEYS.items()}
    decoded = decode(signed_traced_payload, DecodePolicy(verify_keys=keys), job="contracts.traced")
    traceparent = decoded.fields["traceparent"]
    version, trace_id, span_id, flags = traceparent.split("-")
    assert (version, len(trace_id), len(span_id)) == ("00", 32, 16)
    assert int(flags, 16) & 1  # sampled
    tampered = signed_traced_payload.replace(
        traceparent.encode(), f"00-{'1' * 32}-{span_id}-01".encode()
    )
    with pytest.raises(BadSignature):
        decode(tampered, DecodePolicy(verify_keys=keys), job="contracts.traced")


@pytest.mark.parametrize("lang", ["perl", "php", "node"])
def test_peers_read_a_traced_call_and_refuse_a_tampered_one(
    signed_traced_payload: bytes, lang: str
) -> None:
    keys = {kid: secret.encode() for kid, secret in KEYS.items()}
    traceparent = decode(
        signed_traced_payload, DecodePolicy(verify_keys=keys), job="contracts.traced"
    ).fields["traceparent"]
    tampered = signed_traced_payload.replace(traceparent.encode()[-2:], b"00", 1)
    assert tampered != signed_traced_payload
    requests = [
        read_request(signed_traced_payload, "contracts.traced", keys),
        read_request(tampered, "contracts.traced", keys),
    ]
    good, bad = run_peer(lang, "read", requests)
    assert good["ok"] is True and good["value"] == {"args": ["hi"], "kwargs": {}}
    assert bad == {"ok": False, "error": "bad-signature", "message": bad["message"]}


def test_without_an_sdk_nothing_is_written() -> None:
    payload = job_spec(traced).encode_call(("x",), {})
    assert b"traceparent" not in payload and decode(payload).fields == {}


NO_OTEL = """
import sys, json
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ImportError("opentelemetry is not installed here")
sys.meta_path.insert(0, Blocker())
import django
django.setup()
from django_gearman import tracing
from django_gearman.calls import job_spec
from django_gearman.declaration import registry
from django.test import override_settings
job = registry.get("contracts.traced")
payload = job_spec(job).encode_call(("x",), {})
with override_settings(GEARMAN_EAGER=True):
    result = job.submit("x")
print(json.dumps({"payload": payload.decode(), "result": result, "api": tracing._otel() is None,
                  "imported": sorted(m for m in sys.modules if m.startswith("opentelemetry"))}))
"""


def test_without_opentelemetry_nothing_is_imported_and_nothing_changes() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_OTEL],
        cwd=ROOT,
        env=contract_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["result"] == "X" and answer["api"] is True and answer["imported"] == []
    assert answer["payload"].split("\n")[0] == ("GME/1 ct=application/json accept=application/json")
