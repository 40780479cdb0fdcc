"""Interop with other Gearman implementations: pygearman 0.2.6 and the C ``gearman`` tool.

Bytes must pass intact both ways, including NUL, 0xff, all 256 byte values, empty and 1 MiB.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading

import gearman  # pygearman
import pytest

from django_gearman.protocol import JobRequest
from tests.protocol.conftest import echo, reverse

PAYLOADS = {
    "empty": b"",
    "nul": b"\0",
    "nul-inside": b"a\0b\0\0c",
    "ff": b"\xff\xfe\xff",
    "all-256": bytes(range(256)),
    "1MiB": bytes(range(256)) * 4096,
}


def gearman_tool() -> str:
    path = shutil.which("gearman")
    assert path, "the C gearman tool is missing (Debian package gearman-tools)"
    return path


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_pygearman_client_to_our_worker(gearmand, start_worker, name):
    payload = PAYLOADS[name]
    start_worker(gearmand.address, {"reverse": reverse})
    client = gearman.GearmanClient([gearmand.address])
    try:
        # pygearman returns before completion unless poll_timeout is given.
        request = client.submit_job(b"reverse", payload, poll_timeout=30)
        assert request.complete
        assert request.result == payload[::-1]
    finally:
        client.shutdown()


class PyGearmanWorker(gearman.GearmanWorker):
    """pygearman worker that leaves its loop when asked (its after_poll hook)."""

    def __init__(self, servers: list[str]) -> None:
        super().__init__(servers)
        self.stop_requested = threading.Event()

    def after_poll(self, any_activity: bool) -> bool:
        return not self.stop_requested.is_set()


@pytest.fixture
def pygearman_worker(gearmand):
    worker = PyGearmanWorker([gearmand.address])
    # Task names must be bytes: a str name kills pygearman's worker.
    worker.register_task(b"py_reverse", lambda _worker, job: job.data[::-1])
    thread = threading.Thread(target=worker.work, kwargs={"poll_timeout": 0.1}, daemon=True)
    thread.start()
    yield worker
    worker.stop_requested.set()
    thread.join(10)
    assert not thread.is_alive()
    worker.shutdown()


def test_our_client_to_pygearman_worker(gearmand, pygearman_worker, client_factory):
    client = client_factory(gearmand.address)
    for name, payload in PAYLOADS.items():
        result = client.submit("py_reverse", payload, timeout=30)
        assert result.result == payload[::-1], name
    batch = client.submit_many([JobRequest("py_reverse", b"%d" % i) for i in range(50)], timeout=30)
    assert [r.result for r in batch] == [(b"%d" % i)[::-1] for i in range(50)]


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_c_gearman_client_to_our_worker(gearmand, start_worker, name):
    payload = PAYLOADS[name]
    start_worker(gearmand.address, {"echo": echo})
    out = subprocess.run(
        [gearman_tool(), "-h", "127.0.0.1", "-p", str(gearmand.port), "-f", "echo"],
        input=payload,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == payload


def test_c_gearman_client_with_data_argument(gearmand, start_worker):
    start_worker(gearmand.address, {"reverse": reverse})
    out = subprocess.run(
        [gearman_tool(), "-h", "127.0.0.1", "-p", str(gearmand.port), "-f", "reverse", "hello"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"olleh"


def test_our_client_to_c_gearman_worker(gearmand, client_factory):
    count = len(PAYLOADS)
    tool = subprocess.Popen(
        [
            gearman_tool(),
            "-w",
            "-h",
            "127.0.0.1",
            "-p",
            str(gearmand.port),
            "-f",
            "c_cat",
            "-c",
            str(count),
            "--",
            sys.executable,
            "-c",
            # Read all before writing: the tool feeds stdin fully before reading stdout, so `cat`
            # deadlocks on the pipe buffer above ~64 KiB (a limit of the C tool, not of ours).
            "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        client = client_factory(gearmand.address)
        for name, payload in PAYLOADS.items():
            assert client.submit("c_cat", payload, timeout=30).result == payload, name
        assert tool.wait(timeout=30) == 0  # -c COUNT: it exits after exactly that many jobs
    finally:
        if tool.poll() is None:
            tool.kill()
            tool.wait(10)
        if tool.stderr:
            tool.stderr.close()
