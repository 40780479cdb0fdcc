"""What a worker process sends for the jobs it serves, seen from a server's side of the socket."""

from __future__ import annotations

import socket
import threading

from django_gearman.declaration import GearmanJob
from django_gearman.protocol import Packet, PacketParser, PacketType
from django_gearman.serving import build_worker
from tests.support.loopback import LoopbackServer


class RecordingServer(LoopbackServer):
    """Records the packets a worker sends until it sees ``wanted``; never answers."""

    def __init__(self, wanted: PacketType) -> None:
        self.packets: list[Packet] = []
        self.wanted = wanted
        self.seen = threading.Event()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        parser = PacketParser(expect_magic=None)
        conn.settimeout(10)
        while not self.seen.is_set():
            data = conn.recv(4096)
            if not data:
                return
            parser.feed(data)
            for packet in parser.packets():
                if not isinstance(packet, Packet):  # a body the parser skipped: none here
                    continue
                self.packets.append(packet)
                if packet.type == self.wanted:
                    self.seen.set()


def first_registration(job: GearmanJob[..., object], wanted: PacketType) -> list[Packet]:
    """The packets a worker built for ``job`` sends until the ``wanted`` registration."""
    server = RecordingServer(wanted)
    with server:
        worker = build_worker([job], [server.address])
        thread = threading.Thread(target=worker.work, daemon=True)
        thread.start()
        try:
            assert server.seen.wait(10), f"no {wanted.name} in {server.packets}"
        finally:
            worker.stop()
            thread.join(10)
            worker.close()
        return server.packets


def sleeper() -> None:
    return None


def test_worker_timeout_is_sent_as_can_do_timeout() -> None:
    job: GearmanJob[..., object] = GearmanJob(sleeper, name="tests.serving.timed", worker_timeout=7)
    packets = first_registration(job, PacketType.CAN_DO_TIMEOUT)
    assert (PacketType.CAN_DO_TIMEOUT, (b"tests.serving.timed", b"7")) in [
        (packet.type, packet.args) for packet in packets
    ]


def test_a_job_without_worker_timeout_is_sent_as_plain_can_do() -> None:
    job: GearmanJob[..., object] = GearmanJob(sleeper, name="tests.serving.plain")
    packets = first_registration(job, PacketType.CAN_DO)
    assert (PacketType.CAN_DO, (b"tests.serving.plain",)) in [
        (packet.type, packet.args) for packet in packets
    ]
    assert PacketType.CAN_DO_TIMEOUT not in [packet.type for packet in packets]
