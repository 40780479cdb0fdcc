"""Shared helpers of the reliability tests: worker subprocesses, process trees, rogue servers,
raw submissions and an independent envelope signer."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django_gearman import GearmanClient
from django_gearman.calls import remote_spec
from tests.django.support import WorkerProcess, pid_alive, wait_until, workers_for
from tests.support.loopback import LoopbackServer

__all__ = [
    "RogueServer",
    "WorkerProcess",
    "children_of",
    "pid_alive",
    "sign_envelope",
    "start_worker_process",
    "submit_raw",
    "wait_until",
    "workers_for",
]

FAULTS_SETTINGS = "tests.reliability.settings"
SIGNED_SETTINGS = "tests.reliability.settings_signed"


def start_worker_process(
    servers: Sequence[str],
    *args: str,
    settings: str = FAULTS_SETTINGS,
    wait_for: str = "rel.ping",
    count: int = 1,
    timeout: float = 30.0,
    registered_on: Sequence[str] | None = None,
) -> WorkerProcess:
    """``manage.py gearman_worker --servers A,B ARGS``, started and registered on every server
    (or on ``registered_on``: a rogue server cannot answer the admin protocol)."""
    process = WorkerProcess(",".join(servers), list(args), env={"DJANGO_SETTINGS_MODULE": settings})
    process.start()

    def ready() -> bool:
        if process.process is not None and process.process.poll() is not None:
            raise AssertionError(f"gearman_worker exited early:\n{process.output()}")
        check = servers if registered_on is None else registered_on
        return all(workers_for(server, wait_for) >= count for server in check)

    try:
        wait_until(ready, timeout, f"{count} worker(s) for {wait_for} on {servers}")
    except BaseException:
        process.stop()
        raise
    return process


def children_of(pid: int) -> list[int]:
    """Live child pids of ``pid`` (the worker processes of a supervisor), from /proc."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def submit_raw(client: GearmanClient, name: str, payload: bytes, timeout: float = 20.0) -> Any:
    """Send hand-made payload bytes to job ``name`` and read the outcome as ``GearmanClient``
    does: the result value, or the typed error (``JobRefused``/``JobFailed``/``JobLost``)."""
    from django_gearman.exceptions import JobLost

    spec = remote_spec(name, None)
    result = client.transport.submit(spec.wire_name, payload, timeout=timeout)
    if result.state == "complete":
        return spec.decode_result(result.result)
    if result.state == "exception":
        raise spec.decode_failure(result.exception or b"")
    raise JobLost(name, f"transport state {result.state}")


def sign_envelope(job: str, header: bytes, body: bytes, secret: str | bytes) -> bytes:
    """A signed envelope written from the spec (docs/envelope.md), not with ``serializers``:
    HMAC-SHA256 over JOB LF HEADER_WITHOUT_SIG LF BODY, appended as ``sig=`` to the header."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, job.encode() + b"\n" + header + b"\n" + body, hashlib.sha256)
    return header + b" sig=" + mac.hexdigest().encode() + b"\n" + body


# -- rogue servers ------------------------------------------------------------------------------

_HEADER = struct.Struct(">4sII")
OPTION_RES = _HEADER.pack(b"\0RES", 27, 10) + b"exceptions"


class RequestReader:
    """Reads Gearman requests (type, body) from one connection, keeping what is left over."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""

    def next(self, stop: threading.Event) -> tuple[int, bytes] | None:
        """The next request, or None when the peer closed or we stop."""
        while not stop.is_set():
            if len(self.buffer) >= 12:
                _, ptype, size = _HEADER.unpack_from(self.buffer)
                if len(self.buffer) >= 12 + size:
                    body = self.buffer[12 : 12 + size]
                    self.buffer = self.buffer[12 + size :]
                    return ptype, body
            readable, _, _ = select.select([self.conn], [], [], 0.05)
            if readable:
                chunk = self.conn.recv(65536)
                if not chunk:
                    return None
                self.buffer += chunk
        return None


def _read_request(conn: socket.socket, stop: threading.Event) -> tuple[int, bytes] | None:
    """The first Gearman request of a connection (what follows it is ignored)."""
    return RequestReader(conn).next(stop)


Behaviour = Callable[[socket.socket, threading.Event], None]


def close_at_once(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, then close before a single byte is exchanged."""


def never_answer(conn: socket.socket, stop: threading.Event) -> None:
    """Read and discard everything, answer nothing, keep the connection open."""
    while not stop.is_set():
        readable, _, _ = select.select([conn], [], [], 0.05)
        if readable and not conn.recv(65536):
            return


def answer_garbage(conn: socket.socket, stop: threading.Event) -> None:
    """Answer like a web server: not Gearman at all."""
    if _read_request(conn, stop) is not None:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        never_answer(conn, stop)


def announce_huge_packet(conn: socket.socket, stop: threading.Event) -> None:
    """Answer with a RES header whose size field says 4 GiB - 1, then nothing."""
    if _read_request(conn, stop) is not None:
        conn.sendall(_HEADER.pack(b"\0RES", 8, 0xFFFFFFFF))
        never_answer(conn, stop)


def close_after_submit(conn: socket.socket, stop: threading.Event) -> None:
    """Speak Gearman until a job is submitted, then close without JOB_CREATED."""
    request = _read_request(conn, stop)
    if request is None or request[0] != 26:  # OPTION_REQ
        return
    conn.sendall(OPTION_RES)
    _read_request(conn, stop)


def silent_after_submit(conn: socket.socket, stop: threading.Event) -> None:
    """Speak Gearman until a job is submitted, then say nothing more (a hung server)."""
    request = _read_request(conn, stop)
    if request is None or request[0] != 26:
        return
    conn.sendall(OPTION_RES)
    never_answer(conn, stop)


def stall_mid_packet(conn: socket.socket, stop: threading.Event) -> None:
    """Send the first half of a packet header, then stall (a server that hangs mid-write)."""
    if _read_request(conn, stop) is not None:
        conn.sendall(b"\0RES\0\0")
        never_answer(conn, stop)


def truncated_job_created(conn: socket.socket, stop: threading.Event) -> None:
    """Answer a submission with a JOB_CREATED whose body is cut short, then close."""
    request = _read_request(conn, stop)
    if request is None or request[0] != 26:
        return
    conn.sendall(OPTION_RES)
    if _read_request(conn, stop) is not None:
        conn.sendall(_HEADER.pack(b"\0RES", 8, 40) + b"H:rogue")


GRAB_JOB_UNIQ, JOB_ASSIGN_UNIQ, NO_JOB = 30, 31, 10
WORK_ENDS = {13: "complete", 14: "fail", 25: "exception"}


def assign_job(function: str, payload: bytes, replies: list[tuple[str, bytes]]) -> Behaviour:
    """Act as gearmand: hand the worker one job with ``payload`` and record how it ended
    (``("exception", data)`` ...); answer every later grab with NO_JOB."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        reader = RequestReader(conn)
        assigned = False
        while (request := reader.next(stop)) is not None:
            ptype, body = request
            if ptype == GRAB_JOB_UNIQ and not assigned:
                assigned = True
                args = b"\0".join([b"H:rogue:1", function.encode(), b"u1", payload])
                conn.sendall(_HEADER.pack(b"\0RES", JOB_ASSIGN_UNIQ, len(args)) + args)
            elif ptype == GRAB_JOB_UNIQ:
                conn.sendall(_HEADER.pack(b"\0RES", NO_JOB, 0))
            elif ptype in WORK_ENDS:
                replies.append((WORK_ENDS[ptype], body.partition(b"\0")[2]))

    return behaviour


def assign_malformed_job(conn: socket.socket, stop: threading.Event) -> None:
    """Answer the worker's grab with a JOB_ASSIGN_UNIQ that has 2 arguments instead of 4."""
    if _read_request(conn, stop) is not None:
        body = b"H:rogue:1\0rel.ping"
        conn.sendall(_HEADER.pack(b"\0RES", JOB_ASSIGN_UNIQ, len(body)) + body)
        never_answer(conn, stop)


class RogueServer(LoopbackServer):
    """A loopback TCP server that misbehaves in one way (``behaviour``) on every connection.

    Each connection is served in a thread of its own; ``connections`` counts accepted
    connections (to see reconnects).
    """

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self._threads: list[threading.Thread] = []
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.behaviour(conn, self.stopping)

    def close(self) -> None:
        self.stopping.set()  # behaviours watch it; let them end before their sockets close
        self._accept_thread.join(5)
        for thread in self._threads:
            thread.join(5)
        super().close()

    def __enter__(self) -> RogueServer:
        return self


@contextlib.contextmanager
def rogue_server(behaviour: Behaviour) -> Iterator[RogueServer]:
    with RogueServer(behaviour) as server:
        yield server


def kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
