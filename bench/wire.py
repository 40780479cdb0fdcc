"""A minimal Gearman binary-protocol client and worker on raw sockets: the speed ceiling.

Nothing here handles failover, retries, status callbacks or multiple servers; the point is to
show how fast a Python process can push jobs through gearmand when it does the least possible
work per packet, so every other implementation can be read as a fraction of it.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Sequence

REQUEST_MAGIC = b"\0REQ"
RESPONSE_MAGIC = b"\0RES"
HEADER = struct.Struct(">4sII")
TIMEVAL = struct.Struct("@ll")

CAN_DO = 1
PRE_SLEEP = 4
NOOP = 6
SUBMIT_JOB = 7
JOB_CREATED = 8
GRAB_JOB = 9
NO_JOB = 10
JOB_ASSIGN = 11
WORK_COMPLETE = 13
WORK_FAIL = 14
ERROR = 19
SUBMIT_JOB_BG = 18
WORK_EXCEPTION = 25

FINAL_PACKETS = frozenset({WORK_COMPLETE, WORK_FAIL, WORK_EXCEPTION})


class WireError(RuntimeError):
    """The server closed the connection, answered with ERROR, or sent something unexpected."""


def request(packet_type: int, *arguments: bytes) -> bytes:
    """One request packet: magic, type, body size, then the arguments joined by NUL."""
    body = b"\0".join(arguments)
    return HEADER.pack(REQUEST_MAGIC, packet_type, len(body)) + body


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


class PacketSocket:
    """A connected socket plus a receive buffer that yields whole response packets."""

    def __init__(self, address: str, timeout: float) -> None:
        self.sock = socket.create_connection(split_address(address), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A Python-level timeout would poll() before every recv and send; a kernel timeout on a
        # blocking socket bounds each wait with no extra system call.
        self.sock.settimeout(None)
        whole = int(timeout)
        timeval = TIMEVAL.pack(whole, int((timeout - whole) * 1_000_000))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        self.buffer = bytearray()

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except BlockingIOError as exc:  # SO_SNDTIMEO expired: gearmand stopped reading
            raise TimeoutError("gearmand did not take our data in time") from exc

    def receive(self) -> tuple[int, bytes]:
        """Block (up to the socket timeout) until one whole packet is buffered, and return it."""
        buffer = self.buffer
        while True:
            if len(buffer) >= 12:
                magic, packet_type, size = HEADER.unpack_from(buffer)
                if magic != RESPONSE_MAGIC:
                    raise WireError(f"bad packet magic {bytes(magic)!r}")
                end = 12 + size
                if len(buffer) >= end:
                    body = bytes(buffer[12:end])
                    del buffer[:end]
                    if packet_type == ERROR:
                        raise WireError(f"server error: {body!r}")
                    return packet_type, body
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError as exc:  # SO_RCVTIMEO expired
                raise TimeoutError("no packet from gearmand in time") from exc
            if not chunk:
                raise WireError("server closed the connection")
            buffer += chunk

    def close(self) -> None:
        self.sock.close()


class RawClient:
    """Submits jobs with the fewest possible Python operations per packet."""

    def __init__(self, address: str, function: str, timeout: float = 30.0) -> None:
        self.conn = PacketSocket(address, timeout)
        self.function = function.encode()

    def call(self, data: bytes) -> bytes:
        """One foreground job: SUBMIT_JOB, JOB_CREATED, then wait for its final packet."""
        self.conn.send(request(SUBMIT_JOB, self.function, b"", data))
        self._expect(JOB_CREATED)
        return self._await_final()

    def call_many(self, payloads: Sequence[bytes]) -> list[bytes]:
        """Pipeline foreground jobs in one write; results come back in completion order."""
        self.conn.send(b"".join(request(SUBMIT_JOB, self.function, b"", p) for p in payloads))
        for _ in payloads:
            self._expect(JOB_CREATED)
        return [self._await_final() for _ in payloads]

    def submit_background(self, data: bytes) -> bytes:
        self.conn.send(request(SUBMIT_JOB_BG, self.function, b"", data))
        return self._expect(JOB_CREATED)

    def submit_background_many(self, payloads: Sequence[bytes]) -> int:
        """Pipeline background submissions in one write; returns how many were accepted."""
        self.conn.send(b"".join(request(SUBMIT_JOB_BG, self.function, b"", p) for p in payloads))
        for _ in payloads:
            self._expect(JOB_CREATED)
        return len(payloads)

    def _expect(self, packet_type: int) -> bytes:
        got, body = self.conn.receive()
        if got != packet_type:
            raise WireError(f"expected packet {packet_type}, got {got}")
        return body

    def _await_final(self) -> bytes:
        while True:
            packet_type, body = self.conn.receive()
            if packet_type in FINAL_PACKETS:
                if packet_type != WORK_COMPLETE:
                    raise WireError(f"job ended with packet {packet_type}")
                return body.partition(b"\0")[2]

    def close(self) -> None:
        self.conn.close()


def run_raw_worker(address: str, function: str, lifetime: float, max_jobs: int) -> int:
    """Echo jobs back until ``max_jobs`` are done or ``lifetime`` seconds pass; returns the count.

    The answer and the next GRAB_JOB go out in one write, which is most of the ceiling's edge.
    """
    deadline = time.monotonic() + lifetime
    conn = PacketSocket(address, timeout=1.0)
    grab = request(GRAB_JOB)
    conn.send(request(CAN_DO, function.encode()) + grab)
    done = 0
    try:
        while done < max_jobs and time.monotonic() < deadline:
            try:
                packet_type, body = conn.receive()
            except TimeoutError:
                continue
            if packet_type == JOB_ASSIGN:
                handle, _, rest = body.partition(b"\0")
                data = rest.partition(b"\0")[2]
                conn.send(request(WORK_COMPLETE, handle, data) + grab)
                done += 1
            elif packet_type == NO_JOB:
                conn.send(request(PRE_SLEEP))
            elif packet_type == NOOP:
                conn.send(grab)
    finally:
        conn.close()
    return done
