"""Sans-I/O state of one worker-to-server connection: what to send for each packet received.

The worker loop owns the sockets and runs the jobs; this module owns the protocol rules
(CAN_DO, GRAB_JOB_UNIQ, NO_JOB, PRE_SLEEP, NOOP, JOB_ASSIGN_UNIQ), written as a table of
``(state, packet type) -> (next state, bytes to send)``. A packet the table does not list for
the current state is a ``ProtocolError``: the loop drops that connection, never guesses.

States of one connection::

    GRABBING --NO_JOB--> SLEEPING --NOOP--> GRABBING
    GRABBING --JOB_ASSIGN_UNIQ--> WORKING --job_finished--> GRABBING (or STOPPED)
    any --stop()--> STOPPED (WORKING: once the job is finished)
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from .packets import GRAB_JOB_UNIQ, PRE_SLEEP, Frame, PacketType, SkippedBody, encode_packet
from .transport_errors import ProtocolError


class LinkState(enum.StrEnum):
    """Where one worker connection stands in the grab/sleep cycle. (A ``StrEnum``: the table
    below is looked up by state once per packet, and a plain ``Enum`` hashes in Python.)"""

    GRABBING = "grabbing"  # a GRAB_JOB_UNIQ is out; its answer (a job or NO_JOB) is not in yet
    SLEEPING = "sleeping"  # PRE_SLEEP is out: the server sends NOOP when there is work
    WORKING = "working"  # a job was assigned and is running; nothing is out
    STOPPED = "stopped"  # no more grabs: a job assigned now is not started


class JobAssigned(NamedTuple):
    """The server handed over a job: run it, then call ``WorkerSession.job_finished``.

    The events are named tuples: immutable, and cheap to build (one per job)."""

    handle: bytes
    function: bytes
    unique: bytes
    data: bytes


class OversizedJobRefused(NamedTuple):
    """A job whose packet exceeded the limit: its body was skipped unread and WORK_FAIL sent,
    so it leaves the queue instead of being handed out again forever."""

    handle: bytes
    function: bytes
    size: int


class ServerReportedError(NamedTuple):
    """The server sent ERROR (e.g. JOB_NOT_FOUND for a result sent after a timeout re-queue)."""

    code: bytes
    text: bytes


Event = JobAssigned | OversizedJobRefused | ServerReportedError

S = LinkState
P = PacketType
NOTHING = b""

# What a packet from the server does in each state: (next state, bytes to answer).
# NOOP is a wake-up; gearmand may send one at any time, so only SLEEPING acts on it.
RECEIVED: dict[tuple[LinkState, int], tuple[LinkState, bytes]] = {
    (S.GRABBING, P.NO_JOB): (S.SLEEPING, PRE_SLEEP),
    (S.GRABBING, P.JOB_ASSIGN_UNIQ): (S.WORKING, NOTHING),
    (S.GRABBING, P.NOOP): (S.GRABBING, NOTHING),
    (S.SLEEPING, P.NOOP): (S.GRABBING, GRAB_JOB_UNIQ),
    (S.WORKING, P.NOOP): (S.WORKING, NOTHING),
    (S.STOPPED, P.NOOP): (S.STOPPED, NOTHING),
    (S.STOPPED, P.NO_JOB): (S.STOPPED, NOTHING),
    # Not started: closing the connection makes gearmand hand it to another worker.
    (S.STOPPED, P.JOB_ASSIGN_UNIQ): (S.STOPPED, NOTHING),
}

# An oversized JOB_ASSIGN_UNIQ (body skipped by the parser): refuse it with WORK_FAIL.
SKIPPED_ASSIGNMENT: dict[LinkState, tuple[LinkState, bytes]] = {
    S.GRABBING: (S.GRABBING, GRAB_JOB_UNIQ),
    S.STOPPED: (S.STOPPED, NOTHING),
}


class WorkerSession:
    """Protocol state of one connection from a worker to one server (no I/O).

    Feed it every packet received (``receive``), tell it what the worker did (``connected``,
    ``job_finished``, ``abilities_changed``, ``stop``) and send the bytes each call returns.
    """

    __slots__ = ("state", "stopping")

    def __init__(self) -> None:
        self.state = LinkState.STOPPED  # nothing asked of the server until ``connected``
        self.stopping = False

    def __repr__(self) -> str:
        return f"WorkerSession(state={self.state.name}, stopping={self.stopping})"

    def connected(self, hello: bytes) -> bytes:
        """A fresh connection: ``hello`` (client id, abilities) and the first grab."""
        if self.stopping:
            return hello
        self.state = LinkState.GRABBING
        return hello + GRAB_JOB_UNIQ

    def receive(self, frame: Frame) -> tuple[Event | None, bytes]:
        """Apply one packet from the server: (what happened, bytes to send)."""
        if frame.type == P.ERROR:
            code, text = frame.args
            return ServerReportedError(code, text), NOTHING
        if isinstance(frame, SkippedBody):
            return self._skipped(frame)
        try:
            self.state, answer = RECEIVED[self.state, frame.type]
        except KeyError:
            name = P(frame.type).name
            state = self.state.value
            raise ProtocolError(f"server sent {name} to a worker that is {state}") from None
        if frame.type == P.JOB_ASSIGN_UNIQ and self.state is LinkState.WORKING:
            handle, function, unique, data = frame.args
            return JobAssigned(handle, function, unique, data), answer
        return None, answer

    def _skipped(self, frame: SkippedBody) -> tuple[Event | None, bytes]:
        step = SKIPPED_ASSIGNMENT.get(self.state) if frame.type == P.JOB_ASSIGN_UNIQ else None
        if step is None:
            name = P(frame.type).name
            raise ProtocolError(f"oversized {name} ({frame.size} bytes) for a worker")
        self.state, grab = step
        handle, function, _unique = frame.args
        refusal = encode_packet(P.WORK_FAIL, (handle,))
        return OversizedJobRefused(handle, function, frame.size), refusal + grab

    def job_finished(self, reply: bytes, grab_next: bool = True) -> bytes:
        """The job's final packet(s), and the next grab unless stopping (or ``grab_next`` is
        false: the worker is done after this job)."""
        if self.state is not LinkState.WORKING:
            raise RuntimeError(f"job_finished while {self.state.value}: no job is running")
        if grab_next and not self.stopping:
            self.state = LinkState.GRABBING
            return reply + GRAB_JOB_UNIQ
        self.state = LinkState.STOPPED
        return reply

    def abilities_changed(self, packets: bytes) -> bytes:
        """CAN_DO/CANT_DO packets to send; a sleeping connection grabs again, because gearmand
        does not wake a worker for abilities added after its PRE_SLEEP."""
        if self.state is LinkState.SLEEPING:
            self.state = LinkState.GRABBING
            return packets + GRAB_JOB_UNIQ
        return packets

    def stop(self) -> None:
        """No more grabs; a running job still finishes (``job_finished`` sends its result)."""
        self.stopping = True
        if self.state is not LinkState.WORKING:
            self.state = LinkState.STOPPED
