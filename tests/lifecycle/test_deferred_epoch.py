"""Why deferred jobs wait in the store and not in gearmand: SUBMIT_JOB_EPOCH on gearmand 1.1.20.

gearmand 1.1.20 (what Debian ships) accepts ``SUBMIT_JOB_EPOCH`` and holds the job until its
time, but (a) nothing wakes a sleeping worker when that time comes, so the job waits until some
other job wakes the worker, and (b) a future EPOCH job starves LOW jobs of the same function,
because ``GRAB_JOB`` looks only at the first non-empty priority list (NORMAL) and answers NO_JOB.
Both are fixed only in gearmand 2.0. These tests speak the protocol byte by byte (the transport's
packet encoder and parser) against a real gearmand, so they fail if a future gearmand fixes it;
then the store-based scheduler could be reconsidered. See docs/usage.md, "Deferred and periodic
jobs".
"""

from __future__ import annotations

import select
import socket
import time

from django_gearman.protocol import Packet, PacketParser, PacketType
from django_gearman.protocol.packets import encode_packet
from tests.support.gearmand import HOST, Gearmand

FUNCTION = b"epoch.probe"


class RawPeer:
    """One raw protocol connection (a worker or a client) that reads with a bounded wait."""

    def __init__(self, server: Gearmand) -> None:
        self.sock = socket.create_connection((HOST, server.port), timeout=5)
        self.parser = PacketParser()

    def send(self, ptype: PacketType, *args: bytes) -> None:
        self.sock.sendall(encode_packet(ptype, args))

    def read(self, wait: float) -> list[Packet]:
        """The packets of the first receive within ``wait`` seconds ([] if none came)."""
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.sock], [], [], left)
            if not readable:
                break
            chunk = self.sock.recv(65536)
            assert chunk, "gearmand closed the connection"
            self.parser.feed(chunk)
            frames = self.parser.packets()
            packets = [frame for frame in frames if isinstance(frame, Packet)]
            assert len(packets) == len(frames), frames  # no body was skipped
            if packets:
                return packets
        return []

    def exchange(self, ptype: PacketType, *args: bytes, wait: float = 5.0) -> Packet:
        """Send one request and return its one answer."""
        self.send(ptype, *args)
        (answer,) = self.read(wait)
        return answer

    def close(self) -> None:
        self.sock.close()


def submit_epoch(client: RawPeer, unique: bytes, when: int, data: bytes) -> None:
    answer = client.exchange(PacketType.SUBMIT_JOB_EPOCH, FUNCTION, unique, b"%d" % when, data)
    assert answer.type == PacketType.JOB_CREATED, answer


def types(packets: list[Packet]) -> list[str]:
    return [PacketType(packet.type).name for packet in packets]


def test_an_epoch_job_falling_due_never_wakes_a_sleeping_worker(gearmand: Gearmand) -> None:
    worker, client = RawPeer(gearmand), RawPeer(gearmand)
    try:
        worker.send(PacketType.CAN_DO, FUNCTION)
        assert worker.exchange(PacketType.GRAB_JOB).type == PacketType.NO_JOB
        worker.send(PacketType.PRE_SLEEP)
        due = int(time.time()) + 2
        submit_epoch(client, b"due-soon", due, b"deferred")
        # The submit itself wakes the worker, but the job is not due yet.
        assert types(worker.read(1.0)) == ["NOOP"]
        assert worker.exchange(PacketType.GRAB_JOB).type == PacketType.NO_JOB
        worker.send(PacketType.PRE_SLEEP)
        # Sleep through the due time and 3 s beyond: gearmand sends nothing.
        asleep = worker.read(max(0.0, due - time.time()) + 3.0)
        assert time.time() > due + 2
        assert asleep == []
        # The job was due all along: an explicit GRAB_JOB gets it at once.
        assigned = worker.exchange(PacketType.GRAB_JOB)
        assert assigned.type == PacketType.JOB_ASSIGN
        assert assigned.args[1:] == (FUNCTION, b"deferred")
    finally:
        worker.close()
        client.close()


def test_a_future_epoch_job_starves_low_priority_jobs_of_its_function(gearmand: Gearmand) -> None:
    worker, client = RawPeer(gearmand), RawPeer(gearmand)
    try:
        worker.send(PacketType.CAN_DO, FUNCTION)
        submit_epoch(client, b"next-hour", int(time.time()) + 3600, b"deferred")
        low = client.exchange(PacketType.SUBMIT_JOB_LOW_BG, FUNCTION, b"low-1", b"low")
        assert low.type == PacketType.JOB_CREATED
        # The LOW job is queued and due, but every grab answers NO_JOB, and PRE_SLEEP is
        # answered with an immediate NOOP: the worker spins without ever getting it.
        for _ in range(5):
            assert worker.exchange(PacketType.GRAB_JOB).type == PacketType.NO_JOB
            worker.send(PacketType.PRE_SLEEP)
            assert types(worker.read(1.0)) == ["NOOP"]
        # A NORMAL job of the same function is handed out; the LOW one still is not.
        normal = client.exchange(PacketType.SUBMIT_JOB_BG, FUNCTION, b"normal-1", b"normal")
        assert normal.type == PacketType.JOB_CREATED
        assigned = worker.exchange(PacketType.GRAB_JOB)
        assert assigned.type == PacketType.JOB_ASSIGN
        assert assigned.args[2] == b"normal"
        assert worker.exchange(PacketType.GRAB_JOB).type == PacketType.NO_JOB
    finally:
        worker.close()
        client.close()


def test_without_an_epoch_job_the_same_low_job_is_handed_out_at_once(gearmand: Gearmand) -> None:
    """The control for the starvation test: the LOW job itself is fine."""
    worker, client = RawPeer(gearmand), RawPeer(gearmand)
    try:
        worker.send(PacketType.CAN_DO, FUNCTION)
        low = client.exchange(PacketType.SUBMIT_JOB_LOW_BG, FUNCTION, b"low-1", b"low")
        assert low.type == PacketType.JOB_CREATED
        assigned = worker.exchange(PacketType.GRAB_JOB)
        assert assigned.type == PacketType.JOB_ASSIGN
        assert assigned.args[2] == b"low"
    finally:
        worker.close()
        client.close()
