"""The envelope is plain enough to submit with the gearman C tool: the worker gets it byte for byte.

The worker here speaks the Gearman binary protocol over a raw socket (no library in between), so
the test sees exactly the bytes gearmand delivered.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading

from serializers import decode, encode
from tests.support.gearmand import Gearmand

CAN_DO, PRE_SLEEP, GRAB_JOB, NO_JOB, JOB_ASSIGN, WORK_COMPLETE, NOOP = 1, 4, 9, 10, 11, 13, 6
PAYLOAD = b'GME/1 ct=application/json\n{"args":[1],"kwargs":{"who":"C tool"}}'


def _send(sock: socket.socket, kind: int, data: bytes = b"") -> None:
    sock.sendall(b"\0REQ" + struct.pack(">II", kind, len(data)) + data)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("gearmand closed the connection")
        chunks += chunk
    return chunks


def _receive(sock: socket.socket) -> tuple[int, bytes]:
    magic, kind, size = struct.unpack(">4sII", _receive_exactly(sock, 12))
    assert magic == b"\0RES"
    return kind, _receive_exactly(sock, size)


def _serve_one_job(address: str, received: list[bytes]) -> None:
    """Take one job for app.job, record its data, reply with a re-encoded envelope."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        _send(sock, CAN_DO, b"app.job")
        for _ in range(50):  # bounded: NO_JOB / NOOP rounds until the job arrives
            _send(sock, GRAB_JOB)
            kind, data = _receive(sock)
            while kind == NOOP:
                kind, data = _receive(sock)
            if kind == JOB_ASSIGN:
                handle, _function, body = data.split(b"\0", 2)
                received.append(body)
                reply = encode(decode(body).value["kwargs"], "json")
                _send(sock, WORK_COMPLETE, handle + b"\0" + reply)
                return
            assert kind == NO_JOB
            _send(sock, PRE_SLEEP)
            kind, _ = _receive(sock)
            assert kind == NOOP


def test_c_tool_submits_an_envelope_unchanged(gearmand: Gearmand) -> None:
    received: list[bytes] = []
    worker = threading.Thread(target=_serve_one_job, args=(gearmand.address, received))
    worker.start()
    host, port = gearmand.address.rsplit(":", 1)
    result = subprocess.run(
        ["gearman", "-h", host, "-p", port, "-f", "app.job", PAYLOAD.decode()],
        capture_output=True,
        timeout=30,
        check=True,
    )
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert received == [PAYLOAD]
    assert decode(received[0]).value == {"args": [1], "kwargs": {"who": "C tool"}}
    assert decode(result.stdout.rstrip(b"\n")).value == {"who": "C tool"}
