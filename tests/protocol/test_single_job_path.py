"""``Client.submit``'s one-job path against a scripted server: how the answers are cut into
segments, failures after the job was sent, callbacks, and reuse of the connection."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from django_gearman.protocol import (
    Client,
    JobTimeout,
    OutcomeUnknown,
    PacketParser,
    PacketType,
    Priority,
    ProtocolError,
    ServerError,
)
from django_gearman.protocol.packets import REQ, RES, Frame, encode_packet
from tests.support.loopback import LoopbackServer

HANDLE = b"H:scripted:1"
CLOSE = b""  # in a script: close the connection instead of sending


def res(ptype: PacketType, *args: bytes) -> bytes:
    return encode_packet(ptype, args, magic=RES)


def created(handle: bytes = HANDLE) -> bytes:
    return res(PacketType.JOB_CREATED, handle)


class ScriptedServer(LoopbackServer):
    """Answers OPTION_REQ, then answers the n-th submission with ``scripts[n]``: a list of
    byte strings sent one ``sendall`` each (``CLOSE`` closes the connection). Every packet
    received is recorded, so a test can prove what was (not) sent."""

    def __init__(self, scripts: list[list[bytes]]) -> None:
        self.scripts = scripts
        self.received: list[Frame] = []
        super().__init__()

    @property
    def submissions(self) -> list[Frame]:
        return [packet for packet in self.received if packet.type != PacketType.OPTION_REQ]

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        parser = PacketParser(expect_magic=REQ)
        while not self.stopping.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            parser.feed(chunk)
            for packet in parser.packets():
                self.received.append(packet)
                if packet.type == PacketType.OPTION_REQ:
                    conn.sendall(res(PacketType.OPTION_RES, packet.args[0]))
                    continue
                script = self.scripts.pop(0) if self.scripts else []
                for step in script:
                    if step == CLOSE:
                        conn.close()
                        return
                    conn.sendall(step)


@pytest.fixture
def scripted() -> Iterator[type[ScriptedServer]]:
    servers: list[ScriptedServer] = []

    class Tracked(ScriptedServer):
        def __init__(self, scripts: list[list[bytes]]) -> None:
            super().__init__(scripts)
            servers.append(self)

    yield Tracked
    for server in servers:
        server.close()


def one_byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


ANSWER = created() + res(PacketType.WORK_COMPLETE, HANDLE, b"result\0with NUL")


@pytest.mark.parametrize(
    "script",
    [
        [ANSWER],  # both packets in one segment
        [created(), res(PacketType.WORK_COMPLETE, HANDLE, b"result\0with NUL")],
        one_byte_at_a_time(ANSWER),  # every packet split across receives
        [ANSWER[:5], ANSWER[5:30], ANSWER[30:]],
    ],
    ids=["one-segment", "two-segments", "byte-by-byte", "three-cuts"],
)
def test_result_however_the_answer_is_cut(scripted, script):
    server = scripted([script, [ANSWER]])
    client = Client(server.address, retries=0)
    result = client.submit("fn", b"data", timeout=5)
    assert (result.state, result.result, result.handle) == ("complete", b"result\0with NUL", HANDLE)
    assert result.server == server.address
    # The connection went back to the pool clean: the next job runs on it.
    assert client.submit("fn", b"data", timeout=5).result == b"result\0with NUL"
    assert server.connections == 1
    client.close()


def test_callbacks_in_arrival_order_and_exception_in_one_segment(scripted):
    script = [
        created()
        + res(PacketType.WORK_STATUS, HANDLE, b"1", b"4")
        + res(PacketType.WORK_DATA, HANDLE, b"part")
        + res(PacketType.WORK_WARNING, HANDLE, b"hmm")
        + res(PacketType.WORK_STATUS, HANDLE, b"4", b"4")
        + res(PacketType.WORK_EXCEPTION, HANDLE, b"bad\0input")
        + res(PacketType.WORK_FAIL, HANDLE)  # late FAIL after EXCEPTION: ignored
    ]
    server = scripted([script])
    client = Client(server.address, retries=0)
    seen: list[tuple[str, object]] = []
    result = client.submit(
        "fn",
        b"x",
        timeout=5,
        on_status=lambda n, d: seen.append(("status", (n, d))),
        on_data=lambda chunk: seen.append(("data", chunk)),
        on_warning=lambda chunk: seen.append(("warning", chunk)),
    )
    assert seen == [
        ("status", (1, 4)),
        ("data", b"part"),
        ("warning", b"hmm"),
        ("status", (4, 4)),
    ]
    assert (result.state, result.exception, result.status) == ("exception", b"bad\0input", (4, 4))
    assert not result.ok
    client.close()


def test_work_fail_with_trailing_nul_in_the_handle(scripted):
    server = scripted([[created(), res(PacketType.WORK_FAIL, HANDLE + b"\0")]])
    client = Client(server.address, retries=0)
    assert client.submit("fn", b"x", timeout=5).state == "failed"
    client.close()


def test_packets_for_other_handles_are_ignored(scripted):
    other = b"H:scripted:other"
    script = [
        created()
        + res(PacketType.WORK_COMPLETE, other, b"not ours")
        + res(PacketType.WORK_COMPLETE, HANDLE, b"ours")
    ]
    server = scripted([script])
    client = Client(server.address, retries=0)
    assert client.submit("fn", b"x", timeout=5).result == b"ours"
    client.close()


def test_server_dies_after_job_created_is_outcome_unknown_and_never_resent(scripted):
    server = scripted([[created(), CLOSE]])
    client = Client(server.address, retries=3, backoff=0.0)
    with pytest.raises(OutcomeUnknown):
        client.submit("fn", b"once", timeout=5)
    assert [packet.args for packet in server.submissions] == [(b"fn", b"", b"once")]
    client.close()


def test_server_dies_before_job_created_is_outcome_unknown_too(scripted):
    server = scripted([[CLOSE]])
    client = Client(server.address, retries=3, backoff=0.0)
    with pytest.raises(OutcomeUnknown):
        client.submit("fn", b"once", background=True, timeout=5)
    assert len(server.submissions) == 1
    client.close()


def test_silence_after_job_created_is_a_timeout_and_the_connection_is_dropped(scripted):
    server = scripted([[created()], [ANSWER]])
    client = Client(server.address, retries=0)
    with pytest.raises(JobTimeout):
        client.submit("fn", b"x", timeout=0.3)
    # The timed-out connection's stream position is unknown: the next job uses a new one.
    assert client.submit("fn", b"x", timeout=5).state == "complete"
    assert server.connections == 2
    client.close()


def test_timeout_mid_packet(scripted):
    server = scripted([[ANSWER[:-3]]])
    client = Client(server.address, retries=0)
    with pytest.raises(JobTimeout):
        client.submit("fn", b"x", timeout=0.3)
    client.close()


def test_error_packet_is_a_server_error(scripted):
    server = scripted([[res(PacketType.ERROR, b"ERR_CODE", b"went wrong")]])
    client = Client(server.address, retries=0)
    with pytest.raises(ServerError):
        client.submit("fn", b"x", timeout=5)
    client.close()


def test_garbage_after_job_created_is_a_protocol_error(scripted):
    server = scripted([[created() + b"\0RES" + b"\xff" * 8]])
    client = Client(server.address, retries=0)
    with pytest.raises(ProtocolError):
        client.submit("fn", b"x", timeout=5)
    client.close()


@pytest.mark.parametrize(
    ("priority", "background", "ptype"),
    [
        (Priority.NORMAL, False, PacketType.SUBMIT_JOB),
        (Priority.HIGH, False, PacketType.SUBMIT_JOB_HIGH),
        (Priority.LOW, False, PacketType.SUBMIT_JOB_LOW),
        (Priority.NORMAL, True, PacketType.SUBMIT_JOB_BG),
        (Priority.HIGH, True, PacketType.SUBMIT_JOB_HIGH_BG),
        (Priority.LOW, 1, PacketType.SUBMIT_JOB_LOW_BG),  # a truthy non-bool background
    ],
)
def test_packet_type_unique_and_background_state(scripted, priority, background, ptype):
    answer = [created()] if background else [ANSWER]
    server = scripted([answer])
    client = Client(server.address, retries=0)
    result = client.submit(
        "fn", "dätä", unique="u-1", priority=priority, background=background, timeout=5
    )
    assert result.state == ("queued" if background else "complete")
    assert (result.handle, result.unique, result.function) == (HANDLE, b"u-1", b"fn")
    [packet] = server.submissions
    assert (packet.type, packet.args) == (ptype, (b"fn", b"u-1", "dätä".encode()))
    client.close()
