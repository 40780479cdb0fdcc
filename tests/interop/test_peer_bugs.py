"""Known bugs of the peers' Gearman libraries (gearmand 1.1.20), reproduced with bounded runs, and
the proof that our envelopes can never be the payloads that trigger them.

See docs/interop.md, "Known peer bugs". Each reproduction asserts the bug's visible effect, so if a
library release fixes it the test fails and the documentation must be updated.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_gearman.protocol import Client, Worker, WorkerJob, WorkException
from serializers import MalformedEnvelope, SigningKey, decode, encode
from tests.interop.peers import PEER_COMMANDS, REPO, background_process, log_tail
from tests.support.gearmand import Gearmand
from tests.support.recording import recording_worker as recording

PERL_BUGS = REPO / "interop" / "perl" / "bugs"
PHP_BUGS = REPO / "interop" / "php" / "bugs"


@pytest.mark.parametrize("false_result", ["0", ""])
def test_perl_worker_reruns_a_job_whose_result_is_false(
    gearmand: Gearmand, false_result: str
) -> None:
    """Gearman::Worker sends WORK_COMPLETE without the NUL after the handle when the result is a
    false string: gearmand drops the reply and hands the same job out again, and again."""
    max_runs = 3
    command = [
        "perl",
        str(PERL_BUGS / "false_result_worker.pl"),
        gearmand.address,
        "bug.false",
        false_result,
        str(max_runs),
        "30",
    ]
    with Client([gearmand.address]) as client:
        queued = client.submit("bug.false", b"x", background=True, timeout=10)
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
        runs = [line for line in done.stdout.decode().splitlines() if line.startswith("run ")]
        assert len(runs) == max_runs, done  # one job, run again after each "completion"
        status = client.get_status(queued, timeout=10)
    assert status.known, status  # gearmand still holds the job: it never completed


@pytest.fixture
def recording_worker(gearmand: Gearmand) -> Iterator[list[bytes]]:
    """A Python worker serving bug.record: it keeps every workload it gets and answers 'ok'."""
    with recording(gearmand.address, "bug.record", b"ok") as received:
        yield received


def test_perl_client_sends_workload_zero_as_empty(
    gearmand: Gearmand, recording_worker: list[bytes]
) -> None:
    command = [
        "perl",
        str(PERL_BUGS / "zero_workload_client.pl"),
        gearmand.address,
        "bug.record",
        "0",
        "20",
    ]
    done = subprocess.run(command, capture_output=True, timeout=40, check=False)
    assert done.stdout.decode().strip() == "result:ok", done
    assert recording_worker == [b""]  # "0" was sent, "" arrived


def test_php_client_refuses_an_empty_workload(gearmand: Gearmand) -> None:
    host, port = gearmand.address.split(":")
    command = ["php", str(PHP_BUGS / "empty_workload_client.php"), host, port, "bug.record"]
    done = subprocess.run(command, capture_output=True, timeout=40, check=False)
    outcome = json.loads(done.stdout)
    assert not outcome["success"], outcome
    assert "GEARMAN_INVALID_ARGUMENT" in outcome["error"] and "invalid workload" in outcome["error"]


def test_gearman_tool_waits_out_its_timeout_when_a_job_fails(
    gearmand: Gearmand, tmp_path: Path
) -> None:
    """The C `gearman` client does not ask for exceptions; gearmand 1.1.20 then turns a
    WORK_EXCEPTION into a WORK_FAIL the tool does not match: it waits for -t and exits 0."""
    log = tmp_path / "worker.log"
    command = [
        *PEER_COMMANDS["php"],
        "worker",
        f"--server={gearmand.address}",
        "--prefix=bug.php",
        "--seconds=60",
    ]
    envelope = b'GME/1 ct=application/json\n{"args":["boom"],"kwargs":{}}'
    host, port = gearmand.address.split(":")
    with background_process(command, log_path=log):
        done = subprocess.run(
            ["gearman", "-t", "2000", "-h", host, "-p", port, "-f", "bug.php.fail", envelope],
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0 and done.stdout == b"", (done, log_tail(log))
    assert b"timeout" in done.stderr.lower(), done.stderr


# ------------------------------------------------------------------------------------------------
# Our payloads can never trigger these bugs: every envelope starts with "GME/1 ".

FALSY_AND_EMPTY: list[Any] = [None, "", 0, 0.0, False, [], {}, "0", b"", b"0"]


def every_envelope_of(value: Any) -> Iterator[bytes]:
    key = SigningKey("k1", b"a-secret-of-sixteen-bytes")
    serializers = ["json", "msgpack", "pickle"]
    if isinstance(value, str):
        serializers.append("text")
    if isinstance(value, bytes):
        serializers = ["msgpack", "bytes", "pickle"]
    for serializer in serializers:
        for compress in (None, "zlib"):
            for signing_key in (None, key):
                yield encode(
                    value,
                    serializer,
                    job="app.job",
                    signing_key=signing_key,
                    compress=compress,
                    compress_min_bytes=0,
                )


@pytest.mark.parametrize("value", FALSY_AND_EMPTY, ids=repr)
def test_no_envelope_is_empty_or_zero(value: Any) -> None:
    envelopes = list(every_envelope_of(value))
    assert envelopes
    for envelope in envelopes:
        assert envelope.startswith(b"GME/1 ct="), envelope
        assert envelope not in (b"", b"0")


def test_falsy_results_survive_the_perl_worker(gearmand: Gearmand, tmp_path: Path) -> None:
    """The Perl peer worker returns enveloped results, so "", 0 and [] complete at once."""
    log = tmp_path / "perl-worker.log"
    command = [
        *PEER_COMMANDS["perl"],
        "worker",
        f"--server={gearmand.address}",
        "--prefix=ok.perl",
        "--seconds=60",
    ]
    with background_process(command, log_path=log), Client([gearmand.address]) as client:
        for function, args, expected in [
            ("reverse", [""], ""),
            ("add", [], 0),
            ("add", [0], 0),
            ("echo", [], {"args": [], "kwargs": {}}),
        ]:
            name = f"ok.perl.{function}"
            result = client.submit(name, encode({"args": args, "kwargs": {}}, job=name), timeout=20)
            assert result.state == "complete", (result, log_tail(log))
            assert decode(result.result).value == expected


@pytest.mark.parametrize("result", [b"", b"0", None])
def test_python_worker_completes_false_results_properly(gearmand: Gearmand, result: Any) -> None:
    """Unlike Gearman::Worker, django_gearman.protocol.Worker keeps the NUL after the handle for
    an empty or "0" result, so even a raw (unenveloped) falsy result completes at once."""
    worker = Worker([gearmand.address])
    worker.register("raw.falsy", lambda job: result)
    thread = threading.Thread(target=worker.work, kwargs={"max_jobs": 1}, daemon=True)
    thread.start()
    try:
        with Client([gearmand.address]) as client:
            outcome = client.submit("raw.falsy", b"x", timeout=20)
        assert (outcome.state, outcome.result) == ("complete", result or b"")
    finally:
        worker.stop()
        thread.join(timeout=10)
        worker.close()


def test_perl_worker_sends_a_storable_blob_when_a_job_dies(gearmand: Gearmand) -> None:
    """Gearman::Worker answers a dying job with a Perl Storable blob (the Perl peer worker
    catches errors and sends an error envelope instead)."""
    command = ["perl", str(PERL_BUGS / "dying_job_worker.pl"), gearmand.address, "bug.dies", "30"]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with Client([gearmand.address]) as client:
            outcome = client.submit("bug.dies", b"x", timeout=20)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    assert outcome.state == "exception", outcome
    assert outcome.exception and not outcome.exception.startswith(b"GME/")
    assert b"job died" in outcome.exception  # inside the Storable framing
    with pytest.raises(MalformedEnvelope):
        decode(outcome.exception)


def test_node_client_gets_exceptions_as_utf8_text(gearmand: Gearmand) -> None:
    """gearman 2.1.0 (npm) decodes a WORK_EXCEPTION payload as UTF-8 text: bytes that are not
    UTF-8 are lost (our error envelopes are JSON, so they survive)."""
    worker = Worker([gearmand.address])

    def fail(job: WorkerJob) -> bytes:
        raise WorkException(b"\xff\xfe binary")

    worker.register("bug.binary_exception", fail)
    thread = threading.Thread(target=worker.work, kwargs={"max_jobs": 1}, daemon=True)
    thread.start()
    host, port = gearmand.address.split(":")
    script = REPO / "interop" / "node" / "bugs" / "exception_as_text.js"
    try:
        done = subprocess.run(
            ["node", str(script), host, port, "bug.binary_exception", "20"],
            capture_output=True,
            timeout=40,
            check=False,
            env={**os.environ, "NODE_PATH": str(REPO / "interop" / "node" / "node_modules")},
        )
    finally:
        worker.stop()
        thread.join(timeout=10)
        worker.close()
    received = bytes.fromhex(done.stdout.decode().strip())
    assert received == "\ufffd\ufffd binary".encode(), done
