"""Hostile or broken servers: typed errors within the timeout, and a worker that keeps serving."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator

import pytest

from django_gearman.protocol import (
    Client,
    GearmanError,
    JobTimeout,
    NoServerAvailable,
    OutcomeUnknown,
    PacketType,
    ProtocolError,
)
from django_gearman.protocol.packets import RES, encode_packet
from tests.support.loopback import LoopbackServer

Behaviour = Callable[[socket.socket], None]


def answer_garbage(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")


def announce_huge_packet(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(RES + struct.pack(">II", PacketType.OPTION_RES, 1 << 31))


def stall_mid_packet(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(encode_packet(PacketType.OPTION_RES, (b"exceptions",), magic=RES)[:7])


def accept_option_then_die(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(encode_packet(PacketType.OPTION_RES, (b"exceptions",), magic=RES))
    conn.recv(65536)  # the submission arrives; then the "server" dies without answering


def close_at_once(conn: socket.socket) -> None:
    pass


class RogueServer(LoopbackServer):
    """A loopback listener running ``behaviour`` on each connection, then holding it open."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            self.behaviour(conn)
        finally:
            if self.behaviour in (close_at_once, accept_option_then_die):
                conn.close()


@pytest.fixture
def rogue() -> Iterator[Callable[[Behaviour], RogueServer]]:
    servers: list[RogueServer] = []

    def start(behaviour: Behaviour) -> RogueServer:
        server = RogueServer(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (answer_garbage, NoServerAvailable),
        (announce_huge_packet, NoServerAvailable),
        (stall_mid_packet, NoServerAvailable),
        (close_at_once, NoServerAvailable),
        (accept_option_then_die, OutcomeUnknown),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_client_gets_a_typed_error_within_its_timeout(rogue, behaviour, error):
    server = rogue(behaviour)
    client = Client(server.address, connect_timeout=0.5, retries=0)
    with pytest.raises(error) as info:
        client.submit("fn", b"x", timeout=3)
    assert isinstance(info.value, GearmanError)
    client.close()


def test_garbage_during_a_job_is_a_protocol_error_reported_per_job(rogue):
    def option_then_garbage(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(encode_packet(PacketType.OPTION_RES, (b"exceptions",), magic=RES))
        conn.recv(65536)
        conn.sendall(b"\0RES" + b"\xff" * 8)

    server = rogue(option_then_garbage)
    client = Client(server.address, retries=0)
    with pytest.raises(ProtocolError):
        client.submit("fn", b"x", timeout=3)
    client.close()


def test_silent_server_is_a_job_timeout(rogue):
    def option_then_silence(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(encode_packet(PacketType.OPTION_RES, (b"exceptions",), magic=RES))

    server = rogue(option_then_silence)
    client = Client(server.address, retries=0)
    with pytest.raises(JobTimeout):
        client.submit("fn", b"x", timeout=0.5)
    client.close()


@pytest.mark.parametrize(
    "behaviour",
    [answer_garbage, announce_huge_packet, stall_mid_packet, close_at_once],
    ids=lambda value: value.__name__,
)
def test_worker_keeps_serving_a_good_server_next_to_a_rogue(
    rogue, behaviour, gearmand, start_worker, client_factory
):
    def rogue_worker_side(conn: socket.socket) -> None:
        # Same behaviours, seen by a worker: the first bytes it receives are the hostile ones.
        if behaviour is stall_mid_packet:
            conn.sendall(encode_packet(PacketType.NO_JOB, (), magic=RES)[:5])
        elif behaviour is not close_at_once:
            behaviour(conn)

    bad = rogue(rogue_worker_side)
    start_worker([bad.address, gearmand.address], backoff=0.05, max_backoff=0.2)
    client = client_factory(gearmand.address)
    for i in range(3):
        assert client.submit("reverse", b"ok-%d" % i, timeout=10).result == (b"ok-%d" % i)[::-1]
