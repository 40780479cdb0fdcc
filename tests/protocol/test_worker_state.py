"""WorkerSession without sockets: the grab/sleep/assign table, stop, abilities, oversized jobs.

The property test plays an honest gearmand against the session, the server's bytes cut in
arbitrary chunks and parsed by a real PacketParser (with oversized bodies skipped): every job
handed out is answered exactly once and the worker never has two GRABs out.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_gearman.protocol import PacketParser, PacketType, ProtocolError
from django_gearman.protocol.packets import (
    GRAB_JOB_UNIQ,
    PRE_SLEEP,
    REQ,
    RES,
    Packet,
    SkippedBody,
    encode_packet,
)
from django_gearman.protocol.worker_state import (
    RECEIVED,
    JobAssigned,
    LinkState,
    OversizedJobRefused,
    ServerReportedError,
    WorkerSession,
)

HELLO = encode_packet(PacketType.CAN_DO, (b"fn",))
LIMIT = 256


def from_server(ptype: PacketType, *args: bytes) -> Packet:
    return Packet(RES, ptype, args)


def assignment(handle: bytes = b"H:1", data: bytes = b"data") -> Packet:
    return from_server(PacketType.JOB_ASSIGN_UNIQ, handle, b"fn", b"", data)


def grabbing_session() -> WorkerSession:
    session = WorkerSession()
    assert session.connected(HELLO) == HELLO + GRAB_JOB_UNIQ
    assert session.state is LinkState.GRABBING
    return session


def test_no_job_sends_pre_sleep_and_noop_grabs_again() -> None:
    session = grabbing_session()
    assert session.receive(from_server(PacketType.NO_JOB)) == (None, PRE_SLEEP)
    assert session.state is LinkState.SLEEPING
    assert session.receive(from_server(PacketType.NOOP)) == (None, GRAB_JOB_UNIQ)
    assert session.state is LinkState.GRABBING


def test_an_assigned_job_is_an_event_and_its_result_goes_out_with_the_next_grab() -> None:
    session = grabbing_session()
    event, answer = session.receive(assignment(b"H:7", b"x\0y"))
    assert event == JobAssigned(b"H:7", b"fn", b"", b"x\0y") and answer == b""
    assert session.state is LinkState.WORKING
    assert session.job_finished(b"RESULT") == b"RESULT" + GRAB_JOB_UNIQ
    assert session.state is LinkState.GRABBING


def test_the_last_job_of_a_run_sends_its_result_without_a_grab() -> None:
    session = grabbing_session()
    session.receive(assignment())
    assert session.job_finished(b"RESULT", grab_next=False) == b"RESULT"
    assert session.state is LinkState.STOPPED


def test_stop_during_a_job_lets_it_finish_without_a_next_grab() -> None:
    session = grabbing_session()
    session.receive(assignment())
    session.stop()
    assert session.state is LinkState.WORKING
    assert session.job_finished(b"RESULT") == b"RESULT"
    assert session.state is LinkState.STOPPED


def test_after_stop_a_job_is_not_started_and_noop_is_not_answered() -> None:
    session = grabbing_session()
    session.stop()
    assert session.receive(assignment()) == (None, b"")
    assert session.receive(from_server(PacketType.NOOP)) == (None, b"")
    assert session.state is LinkState.STOPPED


def test_a_connection_made_while_stopping_never_grabs() -> None:
    session = WorkerSession()
    session.stop()
    assert session.connected(HELLO) == HELLO


def test_new_abilities_wake_a_sleeping_connection_only() -> None:
    can_do = encode_packet(PacketType.CAN_DO, (b"other",))
    session = grabbing_session()
    assert session.abilities_changed(can_do) == can_do  # a GRAB is already out
    session.receive(from_server(PacketType.NO_JOB))
    assert session.abilities_changed(can_do) == can_do + GRAB_JOB_UNIQ
    assert session.state is LinkState.GRABBING


def test_server_error_is_reported_and_changes_nothing() -> None:
    session = grabbing_session()
    event, answer = session.receive(from_server(PacketType.ERROR, b"JOB_NOT_FOUND", b"gone"))
    assert event == ServerReportedError(b"JOB_NOT_FOUND", b"gone") and answer == b""
    assert session.state is LinkState.GRABBING


def test_an_oversized_job_is_failed_and_the_worker_grabs_again() -> None:
    session = grabbing_session()
    skipped = SkippedBody(RES, PacketType.JOB_ASSIGN_UNIQ, (b"H:9", b"fn", b"u"), 10**9)
    event, answer = session.receive(skipped)
    assert event == OversizedJobRefused(b"H:9", b"fn", 10**9)
    assert answer == encode_packet(PacketType.WORK_FAIL, (b"H:9",)) + GRAB_JOB_UNIQ
    assert session.state is LinkState.GRABBING


ALL_STATES = list(LinkState)
SERVER_PACKETS = [PacketType.NO_JOB, PacketType.NOOP, PacketType.JOB_ASSIGN_UNIQ]


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("ptype", [*SERVER_PACKETS, PacketType.JOB_CREATED, PacketType.ECHO_RES])
def test_a_packet_the_table_does_not_list_for_the_state_is_a_protocol_error(
    state: LinkState, ptype: PacketType
) -> None:
    session = WorkerSession()
    session.state = state
    args = {PacketType.JOB_ASSIGN_UNIQ: (b"H", b"fn", b"", b""), PacketType.JOB_CREATED: (b"H",)}
    frame = from_server(ptype, *args.get(ptype, (b"x",) if ptype == PacketType.ECHO_RES else ()))
    if (state, ptype) in RECEIVED:
        session.receive(frame)
        assert session.state is RECEIVED[state, ptype][0]
    else:
        with pytest.raises(ProtocolError, match=state.value):
            session.receive(frame)


def test_job_finished_without_a_job_is_a_bug_in_the_caller() -> None:
    with pytest.raises(RuntimeError):
        grabbing_session().job_finished(b"RESULT")


# -- an honest gearmand against the session, through a chunking parser -----------------------

decisions = st.lists(st.sampled_from(["none", "job", "big"]), max_size=30)


class HonestServer:
    """Answers each GRAB with the next decision; wakes a sleeper while decisions remain."""

    def __init__(self, plan: list[str], spurious_noops: list[bool]) -> None:
        self.plan = list(plan)
        self.noise = list(spurious_noops)
        self.parser = PacketParser(expect_magic=REQ)
        self.grabs_out = 0
        self.sleeping = False
        self.handed_out: dict[bytes, str] = {}
        self.answers: dict[bytes, list[int]] = {}

    def hear(self, data: bytes) -> None:
        self.parser.feed(data)
        for packet in self.parser.packets():
            if packet.type == PacketType.GRAB_JOB_UNIQ:
                self.grabs_out += 1
                assert self.grabs_out == 1, "the worker has one GRAB out at a time"
            elif packet.type == PacketType.PRE_SLEEP:
                self.sleeping = True
            elif packet.type in (PacketType.WORK_COMPLETE, PacketType.WORK_FAIL):
                self.answers.setdefault(packet.args[0], []).append(packet.type)

    def speak(self) -> bytes:
        out = b""
        if self.noise and self.noise.pop():
            out += encode_packet(PacketType.NOOP, magic=RES)
        if self.grabs_out:
            self.grabs_out = 0
            decision = self.plan.pop(0) if self.plan else "none"
            if decision == "none":
                return out + encode_packet(PacketType.NO_JOB, magic=RES)
            handle = f"H:{len(self.handed_out)}".encode()
            self.handed_out[handle] = decision
            data = b"x" * (LIMIT * 3 if decision == "big" else 5)
            args = (handle, b"fn", b"", data)
            return out + encode_packet(PacketType.JOB_ASSIGN_UNIQ, args, magic=RES)
        if self.sleeping and self.plan:
            self.sleeping = False
            return out + encode_packet(PacketType.NOOP, magic=RES)
        return out


@settings(max_examples=150, deadline=None)
@given(decisions, st.lists(st.booleans(), max_size=30), st.integers(1, 64))
def test_every_job_of_an_honest_server_is_answered_exactly_once(
    plan: list[str], spurious_noops: list[bool], chunk: int
) -> None:
    server = HonestServer(plan, spurious_noops)
    session = WorkerSession()
    parser = PacketParser(max_packet=LIMIT, skip_oversized=frozenset({PacketType.JOB_ASSIGN_UNIQ}))
    server.hear(session.connected(HELLO))
    refused: list[bytes] = []
    for _ in range(10 * len(plan) + 10):  # bounded: each round answers one GRAB or one sleep
        stream = server.speak()
        if not stream:
            break
        for start in range(0, len(stream), chunk):
            for frame in parser.feed_packets(memoryview(stream[start : start + chunk])):
                event, answer = session.receive(frame)
                if isinstance(event, JobAssigned):
                    answer += session.job_finished(
                        encode_packet(PacketType.WORK_COMPLETE, (event.handle, event.data[::-1]))
                    )
                elif isinstance(event, OversizedJobRefused):
                    refused.append(event.handle)
                server.hear(answer)
            assert parser.buffered <= LIMIT + 12 + chunk
    assert not server.plan, "the server handed out everything it had"
    expected = {
        handle: [PacketType.WORK_FAIL if kind == "big" else PacketType.WORK_COMPLETE]
        for handle, kind in server.handed_out.items()
    }
    assert server.answers == expected
    assert refused == [h for h, kind in server.handed_out.items() if kind == "big"]
