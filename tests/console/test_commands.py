"""gearman_status --json, gearman_decode, gearman_retry and gearman_cancel, run as a user would
(``call_command`` in this process, against private gearmand servers and the test database)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_gearman.models import JobRecord, ResultStatus
from django_gearman.protocol import AdminClient, Client, Priority
from serializers.envelope import read_header
from tests.console.site import seed
from tests.django.support import ROOT
from tests.support.gearmand import Gearmand, free_port

ADD = "tests.django.jobs_app.add"
KEYS = {"k1": "a-console-test-secret-of-length"}


def run(command: str, *args: str, **options: object) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def servers(gearmand: Gearmand) -> Iterator[Gearmand]:
    with override_settings(GEARMAN_SERVERS=[gearmand.address]):
        yield gearmand


# -- gearman_status --json -------------------------------------------------------------------


def test_status_json_lists_functions_by_priority_workers_and_a_dead_server(
    gearmand: Gearmand,
) -> None:
    with Client([gearmand.address]) as client:
        client.submit("console.fn", b"1", background=True)
        client.submit("console.fn", b"2", background=True, priority=Priority.HIGH)
    dead = f"127.0.0.1:{free_port()}"
    document = json.loads(run("gearman_status", json=True, servers=f"{gearmand.address},{dead}"))
    live, down = document["servers"]
    assert live["address"] == gearmand.address and live["up"] is True
    assert live["version"].startswith("1.1")
    [function] = live["functions"]
    assert function == {
        "function": "console.fn",
        "job": None,
        "total": 2,
        "running": 0,
        "workers": 0,
        "high": 1,
        "normal": 1,
        "low": 0,
        "waiting": 2,
    }
    assert down["address"] == dead and down["up"] is False and down["reason"]
    assert document["taken_at"].endswith("+00:00")


def test_status_json_fails_when_no_server_answers() -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match="no Gearman server answered"):
        call_command("gearman_status", json=True, servers=f"127.0.0.1:{free_port()}", stdout=out)
    assert json.loads(out.getvalue())["servers"][0]["up"] is False


# -- gearman_decode --------------------------------------------------------------------------


def test_decode_prints_header_and_value_from_a_file(tmp_path: object) -> None:
    path = tmp_path / "call.bin"  # type: ignore[operator]
    path.write_bytes(seed.call_envelope(ADD, 1, 2, three=3))
    output = run("gearman_decode", str(path))
    assert "content type:  application/json" in output
    assert "signature:     none (unsigned)" in output
    value = json.loads(output.split("value:\n", 1)[1])
    assert value == {"args": [1, 2], "kwargs": {"three": 3}}


def test_decode_verifies_a_signature_given_as_hex() -> None:
    with override_settings(GEARMAN_SIGNING_KEYS=KEYS):
        blob = seed.call_envelope(ADD, 4, 5)
        output = run("gearman_decode", hex=blob.hex(), job=ADD)
        assert "key id:        k1" in output
        assert f"signature:     valid (function {ADD})" in output
        # Without --job every registered job is tried: the signature names the function.
        assert f"valid (function {ADD})" in run("gearman_decode", hex=blob.hex())
        tampered = blob.replace(b"[4,5]", b"[4,6]")
        with pytest.raises(CommandError, match="BadSignature"):
            run("gearman_decode", hex=tampered.hex(), job=ADD)
        unsigned = blob.split(b" kid=")[0] + b"\n" + blob.split(b"\n", 1)[1]
        with pytest.raises(CommandError, match="SignatureMissing"):
            run("gearman_decode", hex=unsigned.hex(), job=ADD)


def test_decode_reads_stdin_and_refuses_what_is_not_an_envelope() -> None:
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    blob = seed.call_envelope(ADD, 7, 8)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "gearman_decode", "-"],
        input=blob,
        capture_output=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert b'"args": [\n    7,\n    8\n  ]' in done.stdout
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "gearman_decode", "-"],
        input=b"not an envelope",
        capture_output=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert b"MalformedEnvelope" in done.stderr and b"Traceback" not in done.stderr


def test_decode_input_errors_are_clear(tmp_path: object) -> None:
    with pytest.raises(CommandError, match="exactly one of"):
        run("gearman_decode")
    with pytest.raises(CommandError, match="not hexadecimal"):
        run("gearman_decode", hex="zz")
    with pytest.raises(CommandError, match="cannot read"):
        run("gearman_decode", str(tmp_path / "missing"))  # type: ignore[operator]


@pytest.mark.django_db
def test_decode_a_stored_record_and_its_error() -> None:
    record_id = seed.failed(ADD, 1, 2)
    output = run("gearman_decode", record=record_id)
    assert '"args": [\n    1,\n    2\n  ]' in output
    with pytest.raises(CommandError, match="has no result envelope"):
        run("gearman_decode", record=record_id, part="result")
    with pytest.raises(CommandError, match="no job record"):
        run("gearman_decode", record=uuid.uuid4().hex)


# -- gearman_retry and gearman_cancel ---------------------------------------------------------


@pytest.mark.django_db
def test_retry_submits_a_new_linked_record_with_its_own_id(servers: Gearmand) -> None:
    old = seed.failed(ADD, 1, 2)
    output = run("gearman_retry", old)
    new_hex = output.split("retried as ")[1].split()[0]
    new = JobRecord.objects.get(pk=new_hex)
    assert new.retry_of_id == uuid.UUID(old)  # type: ignore[attr-defined]
    assert new.status == ResultStatus.READY and new.handle and new.server == servers.address
    assert read_header(bytes(new.call)).fields["id"] == new_hex
    assert JobRecord.objects.get(pk=old).status == ResultStatus.FAILED  # history unchanged
    with AdminClient(servers.address) as admin:
        assert [(s.function, s.queued) for s in admin.status()] == [(ADD, 1)]
    with pytest.raises(CommandError, match="1 of 1 record"):
        run("gearman_retry", new_hex)  # READY: not retried


@pytest.mark.django_db
def test_retry_by_job_takes_the_newest_failed_records(servers: Gearmand) -> None:
    for number in range(3):
        seed.failed(ADD, number, number)
    output = run("gearman_retry", job=ADD, limit=2)
    assert output.count("retried as") == 2
    assert JobRecord.objects.filter(retry_of__isnull=False).count() == 2
    with pytest.raises(CommandError, match="not both"):
        run("gearman_retry", uuid.uuid4().hex, job=ADD)
    with pytest.raises(CommandError, match="not a record id"):
        run("gearman_retry", "nope")


@pytest.mark.django_db
def test_cancel_takes_a_queued_job_out_of_gearmand(servers: Gearmand) -> None:
    queued = seed.queued(ADD, 1, 1)
    assert run("gearman_cancel", queued) == f"{queued}: cancelled\n"
    assert JobRecord.objects.get(pk=queued).status == ResultStatus.CANCELLED
    with AdminClient(servers.address) as admin:
        assert [job.ignore_job for job in admin.show_jobs()] == [True]
    with pytest.raises(CommandError, match="not cancelled"):
        run("gearman_cancel", queued)
    with pytest.raises(CommandError, match="not cancelled"):
        run("gearman_cancel", uuid.uuid4().hex)
