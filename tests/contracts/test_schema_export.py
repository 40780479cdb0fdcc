"""The exported JSON Schemas validate the payloads real clients send, in Python and in Node.

A recording worker keeps the call envelopes exactly as they crossed gearmand; ``jsonschema``
(Draft 2020-12) and the Node peer's Ajv (interop/node/validate_schema.js) both accept them, and
both refuse calls that break the contract.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from django_gearman import GearmanClient
from serializers import ValidationFailed, decode, encode
from tests.contracts.contract_jobs.gearman_jobs import Line, quote
from tests.contracts.support import manage
from tests.interop.peers import PEER_TIMEOUT, REPO, check_node_modules
from tests.support.gearmand import Gearmand
from tests.support.recording import recording_worker

JOB = "contracts.quote"
WHEN = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def exported_bundle(tmp_path: Path) -> dict[str, Any]:
    """``manage.py gearman_schema`` as a user runs it (a subprocess), read back."""
    out = tmp_path / "contracts.json"
    done = manage("gearman_schema", "-o", str(out))
    assert done.returncode == 0, done.stderr
    bundle: dict[str, Any] = json.loads(out.read_text())
    return bundle


def python_valid(schema: dict[str, Any], value: Any) -> list[str]:
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    # jsonschema skips the date-time format silently without rfc3339-validator (its extra)
    assert "date-time" in checker.checkers, "pip install 'jsonschema[format-nongpl]'"
    validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
    return [error.message for error in validator.iter_errors(value)]


def node_validate(bundle: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    check_node_modules()
    done = subprocess.run(
        ["node", str(REPO / "interop" / "node" / "validate_schema.js")],
        input=json.dumps({"bundle": bundle, "items": items}),
        capture_output=True,
        text=True,
        timeout=PEER_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


def test_bundle_names_schema_id_and_version(tmp_path: Path) -> None:
    bundle = exported_bundle(tmp_path)
    entry = bundle["jobs"][JOB]
    assert entry["schema"] == "contracts.quote@2" and entry["version"] == 2
    assert entry["call"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert entry["call"]["$id"] == "urn:django-gearman:contracts.quote@2:call"
    assert entry["result"]["$id"] == "urn:django-gearman:contracts.quote@2:result"
    jsonschema.Draft202012Validator.check_schema(entry["call"])
    jsonschema.Draft202012Validator.check_schema(entry["result"])
    kinds = {p["name"]: (p["kind"], p["required"]) for p in entry["parameters"]}
    assert kinds == {
        "customer": ("positional_only", True),
        "lines": ("positional_or_keyword", True),
        "due": ("positional_or_keyword", False),
        "discount_percent": ("keyword_only", False),
        "tags": ("keyword_only", False),
    }


def test_real_calls_and_results_validate_in_python_and_node(live: Gearmand, tmp_path: Path) -> None:
    bundle = exported_bundle(tmp_path)
    entry = bundle["jobs"][JOB]
    lines = [Line(sku="A-1", quantity=2, unit_price=Decimal("1.10"))]
    result_value = {
        "customer": "ada",
        "total": "2.20",
        "lines": 1,
        "reference": str(uuid.uuid4()),
    }
    reply = encode(result_value, "json", job=JOB)
    client = GearmanClient([live.address])
    with recording_worker(live.address, JOB, reply) as received:
        # Every call form: positional, keywords, models, a datetime, defaults left out.
        client_quote = quote.using(client=client)
        client_quote.submit("ada", lines)
        client_quote.submit("ada", lines=lines, discount_percent=5)
        client_quote.submit("ada", lines, WHEN, tags={"k": "v"})
        raw_line: Any = {"sku": "B", "quantity": "3", "unit_price": 2}  # validated to a Line
        client_quote.submit("ada", [raw_line], due=None)
        client.submit_job(JOB, args=["bob"], kwargs={"lines": []})
    assert len(received) == 5
    values = [decode(payload).value for payload in received]
    for value in values:
        assert python_valid(entry["call"], value) == []
    assert python_valid(entry["result"], result_value) == []
    for payload in received:
        assert payload.startswith(b"GME/1 ct=application/json schema=contracts.quote@2 ")
    items = [
        {"job": JOB, "part": "call", "payload_hex": p.hex(), "function": JOB} for p in received
    ]
    items.append({"job": JOB, "part": "result", "payload_hex": reply.hex(), "function": JOB})
    assert node_validate(bundle, items) == [{"ok": True, "valid": True}] * 6


BAD_CALLS = [
    pytest.param({"args": [], "kwargs": {"lines": []}}, id="missing positional-only customer"),
    pytest.param({"args": ["a"], "kwargs": {}}, id="missing required lines"),
    pytest.param({"args": ["a", []], "kwargs": {"lines": []}}, id="lines given twice"),
    pytest.param({"args": [], "kwargs": {"customer": "a", "lines": []}}, id="customer by keyword"),
    pytest.param({"args": ["a", [], None, 5]}, id="no kwargs key"),
    pytest.param({"args": ["a", [], None, 5], "kwargs": {}}, id="too many positional"),
    pytest.param({"args": ["a", [{"sku": "x"}]], "kwargs": {}}, id="model field missing"),
    pytest.param({"args": ["a", []], "kwargs": {"discount_percent": "ten"}}, id="wrong type"),
    pytest.param({"args": ["a", []], "kwargs": {"unknown": 1}}, id="unknown keyword"),
    pytest.param({"args": ["a", [], "yesterday"], "kwargs": {}}, id="not a date-time"),
]


@pytest.mark.parametrize("value", BAD_CALLS)
def test_calls_that_break_the_contract_fail_both_validators(
    tmp_path_factory: pytest.TempPathFactory, value: dict[str, Any], bad_bundle: dict[str, Any]
) -> None:
    entry = bad_bundle["jobs"][JOB]
    assert python_valid(entry["call"], value) != []
    payload = encode(value, "json", job=JOB)
    item = {"job": JOB, "part": "call", "payload_hex": payload.hex(), "function": JOB}
    [answer] = node_validate(bad_bundle, [item])
    assert answer["ok"] is True and answer["valid"] is False, answer


@pytest.fixture(scope="module")
def bad_bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return exported_bundle(tmp_path_factory.mktemp("bundle"))


def test_the_python_side_also_refuses_what_the_schema_refuses(eager: None) -> None:
    with pytest.raises(ValidationFailed, match=r"kwargs\.lines\.0\.quantity"):
        GearmanClient().submit_job(JOB, args=["a"], kwargs={"lines": [{"sku": "x"}]})


def test_output_dir_writes_one_document_per_job_and_part(tmp_path: Path) -> None:
    done = manage("gearman_schema", "contracts.quote", "--output-dir", str(tmp_path / "s"))
    assert done.returncode == 0, done.stderr
    names = sorted(path.name for path in (tmp_path / "s").iterdir())
    assert names == ["contracts.quote@2.call.json", "contracts.quote@2.result.json"]
    call = json.loads((tmp_path / "s" / names[0]).read_text())
    assert python_valid(call, {"args": ["a", []], "kwargs": {}}) == []


def test_unknown_job_is_an_error_naming_it() -> None:
    done = manage("gearman_schema", "contracts.nope")
    assert done.returncode == 1
    assert "contracts.nope" in done.stderr
