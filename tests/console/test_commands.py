"""gearman_status --json, gearman_decode, gearman_retry and gearman_cancel, run as a user would:
``call_command`` here for what needs no database, ``manage.py`` subprocesses of the test site
(its own SQLite file) for stored records; always against private gearmand servers."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_gearman.protocol import AdminClient, Client, Priority
from tests.console.harness import ConsoleSite
from tests.console.site import seed
from tests.django.support import ROOT
from tests.support.gearmand import Gearmand, free_port

ADD = "tests.django.jobs_app.add"
IMPORT = "tests.console.site.import_file"
PARKED = "tests.console.site.parked"
KEYS = {"k1": "a-console-test-secret-of-length"}


def run(command: str, *args: str, **options: object) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


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


def test_decode_a_stored_record_and_its_error(site_database: ConsoleSite) -> None:
    record_id = site_database.call("seed", f"failed({IMPORT!r}, '/data/a.csv', password='pw')")
    output = site_database.manage("gearman_decode", "--record", record_id)
    assert '"/data/a.csv"' in output and '"pw"' not in output
    assert "hidden:        password (--show-sensitive prints them)" in output
    revealed = site_database.manage("gearman_decode", "--record", record_id, "--show-sensitive")
    assert '"password": "pw"' in revealed
    done = site_database.run("gearman_decode", "--record", record_id, "--part", "result")
    assert done.returncode == 1 and b"has no result envelope" in done.stderr
    done = site_database.run("gearman_decode", "--record", uuid.uuid4().hex)
    assert done.returncode == 1 and b"no job record" in done.stderr


# -- gearman_retry and gearman_cancel ---------------------------------------------------------


def record(site: ConsoleSite, record_id: str) -> dict[str, object]:
    """A record's fields as the site's database holds them (and its call's header id)."""
    return dict(
        site.shell(
            "import json; from django_gearman.models import JobRecord; "
            "from serializers.envelope import read_header; "
            f"r = JobRecord.objects.get(pk={record_id!r}); "
            "print(json.dumps({'status': r.status, 'handle': r.handle, 'server': r.server, "
            "'retry_of': r.retry_of_id and r.retry_of_id.hex, "
            "'id_field': read_header(bytes(r.call)).fields.get('id')}))"
        )
    )


def test_retry_submits_a_new_linked_record_with_its_own_id(
    site_database: ConsoleSite, gearmand: Gearmand
) -> None:
    old = site_database.call("seed", f"failed({IMPORT!r}, '/data/b.csv')")
    output = site_database.manage("gearman_retry", old)
    new = output.split("retried as ")[1].split()[0]
    fields = record(site_database, new)
    assert fields["retry_of"] == old and fields["id_field"] == new
    assert fields["status"] == "READY" and fields["handle"]
    assert fields["server"] == gearmand.address
    assert record(site_database, old)["status"] == "FAILED"  # the history is unchanged
    with AdminClient(gearmand.address) as admin:
        assert [(s.function, s.queued) for s in admin.status()] == [(IMPORT, 1)]
    done = site_database.run("gearman_retry", new)  # READY: not retried
    assert done.returncode == 1
    assert b"only failed or cancelled jobs are retried" in done.stderr
    assert b"1 of 1 record(s) not retried" in done.stderr


def test_retry_by_job_takes_the_newest_failed_records(site_database: ConsoleSite) -> None:
    for number in range(3):
        site_database.call("seed", f"failed({IMPORT!r}, '/data/{number}.csv')")
    output = site_database.manage("gearman_retry", "--job", IMPORT, "--limit", "2")
    assert output.count("retried as") == 2
    done = site_database.run("gearman_retry", uuid.uuid4().hex, "--job", IMPORT)
    assert done.returncode == 1 and b"not both" in done.stderr
    done = site_database.run("gearman_retry", "nope")
    assert done.returncode == 1 and b"not a record id" in done.stderr


def test_cancel_takes_a_queued_job_out_of_gearmand(
    site_database: ConsoleSite, gearmand: Gearmand
) -> None:
    queued = site_database.call("seed", f"queued({PARKED!r}, 'later')")
    assert site_database.manage("gearman_cancel", queued) == f"{queued}: cancelled\n"
    assert record(site_database, queued)["status"] == "CANCELLED"
    with AdminClient(gearmand.address) as admin:
        assert [job.ignore_job for job in admin.show_jobs()] == [True]
    done = site_database.run("gearman_cancel", queued)
    assert done.returncode == 1 and b"not cancelled, it is cancelled" in done.stderr
    done = site_database.run("gearman_cancel", uuid.uuid4().hex)
    assert done.returncode == 1 and b"no such record" in done.stderr
