"""Blocking, thread-safe Gearman client with server rotation, failover and pipelined batches.

Thread safety: a lock-protected pool of idle connections per server. Each call checks out a
connection for its exclusive use and puts it back when the exchange ended cleanly, so threads never
share a socket mid-exchange and never wait for each other's jobs. A connection that timed out or
failed is closed, never reused (its stream position is unknown).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .address import ServerAddress, parse_servers
from .client_base import ClientBase, prepare_job, prepare_jobs
from .connection import PacketConnection
from .packets import PacketType, encode_packet
from .tracking import (
    DataCallback,
    JobRequest,
    JobResult,
    JobTracker,
    PendingJob,
    Priority,
    StatusCallback,
    to_bytes,
)
from .transport_errors import (
    ConnectionLost,
    GearmanError,
    JobTimeout,
    NoServerAvailable,
    OutcomeUnknown,
    ProtocolError,
)

_FRESH_IDLE = 0.001
# Clients alive in this process, so a fork (gunicorn/uWSGI pre-fork, multiprocessing) never
# lets parent and child share a pooled socket.
_live_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_live_clients):
        client._forget_parent_connections()


os.register_at_fork(after_in_child=_after_fork_in_child)
_OPTION_EXCEPTIONS = encode_packet(PacketType.OPTION_REQ, (b"exceptions",))


@dataclass(frozen=True, slots=True)
class JobStatus:
    """Answer to GET_STATUS for a (background) job handle."""

    handle: bytes
    known: bool
    running: bool
    numerator: int
    denominator: int


class _ClientConnection(PacketConnection):
    """A pooled client connection: knows its pool and keeps one reusable JobTracker."""

    __slots__ = ("pool_index", "tracker")

    pool_index: int
    tracker: JobTracker


class _ServerPool:
    """Idle connections to one server (guarded by the client lock)."""

    __slots__ = ("address", "idle")

    def __init__(self, address: ServerAddress) -> None:
        self.address = address
        self.idle: list[_ClientConnection] = []


class Client(ClientBase):
    """Submit jobs to one or more gearmand servers. Safe to share between threads.

    Server choice, failover and retries follow :class:`ServerRing`. A job whose connection
    broke after it was sent is never re-sent: it ends as OutcomeUnknown.
    """

    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        max_idle_per_server: int = 32,
        **settings: Any,
    ) -> None:
        """``settings``: connect_timeout, retries, backoff, max_backoff, down_interval,
        max_down_interval, ack_timeout, default_timeout, max_packet (see ClientBase)."""
        super().__init__(servers, **settings)
        self.max_idle_per_server = max_idle_per_server
        self._pools = [_ServerPool(address) for address in self.servers]
        self._lock = threading.Lock()
        self._closed = False
        _live_clients.add(self)

    def _forget_parent_connections(self) -> None:
        """In a forked child: the pooled sockets belong to the parent (shared streams)."""
        self._lock = threading.Lock()
        for pool in self._pools:
            for conn in pool.idle:
                conn.close()  # closes the child's descriptor only; the parent keeps its own
            pool.idle = []

    # ----------------------------------------------------------------- connections

    def _checkout_idle(self, pool: _ServerPool) -> _ClientConnection | None:
        while True:
            with self._lock:
                if not pool.idle:
                    return None
                conn = pool.idle.pop()
            # A server cannot restart within _FRESH_IDLE; past it, one poll(0) tells whether it
            # closed the connection meanwhile (then the job never left: try a new connection).
            if time.monotonic() - conn.idle_since < _FRESH_IDLE or not conn.is_stale():
                return conn
            conn.close()

    def _connect(self, index: int, deadline: float) -> _ClientConnection:
        """New connection with the 'exceptions' option negotiated (one round trip)."""
        timeout = self._connect_timeout(deadline)
        conn = _ClientConnection.connect(self.servers[index], timeout, max_packet=self.max_packet)
        assert isinstance(conn, _ClientConnection)
        conn.pool_index = index
        conn.tracker = JobTracker()
        try:
            conn.send(_OPTION_EXCEPTIONS, deadline)
            packet = conn.read_packet(min(deadline, time.monotonic() + self.connect_timeout))
            if packet.type != PacketType.OPTION_RES:
                raise ProtocolError(f"expected OPTION_RES, got packet type {packet.type}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _acquire(self, plan: list[int], deadline: float) -> _ClientConnection:
        """An idle or new connection, trying servers in ``plan`` order with bounded retries."""
        conn = self._checkout_idle(self._pools[plan[0]])  # fast path: a warm connection
        if conn is not None:
            return conn
        errors: list[str] = []
        for pause, index in self.ring.attempts(plan):
            if pause:
                if time.monotonic() + pause >= deadline:
                    break
                time.sleep(pause)
            pool = self._pools[index]
            conn = self._checkout_idle(pool)
            if conn is not None:
                return conn
            if time.monotonic() >= deadline:
                raise JobTimeout("timed out while connecting to a gearmand server")
            try:
                conn = self._connect(index, deadline)
            except (OSError, ConnectionLost, JobTimeout, ProtocolError) as exc:
                self.ring.mark_down(index)
                errors.append(f"{pool.address}: {exc}")
                continue
            self.ring.mark_up(index)
            return conn
        raise NoServerAvailable("no gearmand server available: " + "; ".join(errors[-4:]))

    def _release(self, conn: _ClientConnection) -> None:
        if conn.parser.error is not None:  # bad bytes after the last answer: framing is lost
            conn.close()
            return
        pool = self._pools[conn.pool_index]
        with self._lock:
            if not self._closed and len(pool.idle) < self.max_idle_per_server:
                self.ring.mark_up(conn.pool_index)  # it answered: end any avoidance or probe
                conn.idle_since = time.monotonic()
                pool.idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close idle connections; connections in use are closed when they are released."""
        with self._lock:
            self._closed = True
            idle = [conn for pool in self._pools for conn in pool.idle]
            for pool in self._pools:
                pool.idle.clear()
        for conn in idle:
            conn.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- exchanges

    def _send_batch(
        self, conn: _ClientConnection, jobs: Sequence[PendingJob], deadline: float
    ) -> JobTracker | None:
        """Write every job in one ``sendall``; None if the connection failed (jobs recorded)."""
        tracker = conn.tracker  # empty: a connection is pooled only after a clean exchange
        server = conn.name
        for job in jobs:
            job.server = server
            tracker.submitted(job)
        payload = jobs[0].packet if len(jobs) == 1 else b"".join([job.packet for job in jobs])
        try:
            conn.send(payload, deadline)
        except BaseException as exc:
            self._abandon(conn, tracker, exc)
            return None
        return tracker

    def _drain(
        self,
        conn: _ClientConnection,
        tracker: JobTracker,
        deadline: float,
        payload: bytes | None = None,
    ) -> None:
        """Send ``payload`` if given, then read until every job of ``tracker`` is final;
        afterwards every job has a state.

        The connection goes back to the pool only if the exchange ended cleanly.
        """
        try:
            if payload is not None:
                conn.send(payload, deadline)
            # (Packets that read_packet parsed ahead come first from receive_packets.)
            while tracker.open_jobs:
                for packet in conn.receive_packets(self._receive_deadline(tracker, deadline)):
                    tracker.handle_packet(packet.type, packet.args)
        except JobTimeout as timeout:
            self._abandon(conn, tracker, self._silence_or(timeout, conn.pool_index, deadline))
            return
        except BaseException as exc:
            self._abandon(conn, tracker, exc)
            return
        self._release(conn)

    def _silence_or(self, timeout: JobTimeout, index: int, deadline: float) -> JobTimeout:
        """A receive timed out: the caller's time ran out (``timeout`` as is), or the ack
        window did, before the deadline: the server is hung (avoid it, say so)."""
        if time.monotonic() >= deadline:
            return timeout
        self._server_hung(index)
        return JobTimeout(f"the server acknowledged nothing for {self.ack_timeout:g}s")

    def _server_hung(self, index: int) -> None:
        """Avoid the server, and drop its idle connections: a probe must be a fresh handshake
        (OPTION_REQ), never a job sent down a connection to a server that may still hang."""
        self.ring.mark_down(index)
        pool = self._pools[index]
        with self._lock:
            idle, pool.idle = pool.idle, []
        for conn in idle:
            conn.close()

    def _receive_deadline(self, tracker: JobTracker, deadline: float) -> float:
        """How long the next receive may wait: the caller's deadline, or the ack window while a
        submission waits for JOB_CREATED (a healthy gearmand answers at once: past the window
        the server is hung)."""
        if tracker.awaiting_created:
            return min(deadline, time.monotonic() + self.ack_timeout)
        return deadline

    @staticmethod
    def _abandon(conn: _ClientConnection, tracker: JobTracker, exc: BaseException) -> None:
        """A failed exchange: close the connection, give every open job its outcome.

        Anything that is not a GearmanError (e.g. KeyboardInterrupt) is re-raised.
        """
        conn.close()
        server = conn.name
        if isinstance(exc, ConnectionLost):
            tracker.abandon(OutcomeUnknown(f"server {server} failed with the job in flight: {exc}"))
        elif isinstance(exc, JobTimeout):
            tracker.abandon(JobTimeout(f"job did not finish in time on {server}: {exc}"))
        elif isinstance(exc, GearmanError):
            tracker.abandon(exc)
        else:
            raise exc

    def submit(
        self,
        function: str | bytes,
        data: bytes | str = b"",
        *,
        unique: str | bytes | None = None,
        priority: Priority = Priority.NORMAL,
        background: bool = False,
        timeout: float | None = None,
        on_status: StatusCallback | None = None,
        on_data: DataCallback | None = None,
        on_warning: DataCallback | None = None,
    ) -> JobResult:
        """Submit one job and wait for its outcome (foreground) or its acceptance (background).

        Raises JobTimeout, OutcomeUnknown, NoServerAvailable, ServerError or ProtocolError.
        """
        # The one-job path: a batch of one without the grouping (_drain sends and reads).
        job = prepare_job(
            function, data, unique, priority, background, on_status, on_data, on_warning
        )
        deadline = self._deadline(timeout)
        conn = self._acquire(self.ring.plan(job.unique), deadline)
        tracker = conn.tracker  # empty: a connection is pooled only after a clean exchange
        job.server = conn.name
        tracker.submitted(job)
        self._drain(conn, tracker, deadline, job.packet)
        if job.error is not None:
            raise job.error
        return job.to_result()

    def submit_many(
        self, requests: Iterable[JobRequest], timeout: float | None = None
    ) -> list[JobResult]:
        """Submit a batch pipelined in one write per server; results are in request order.

        Transport failures are reported per job (state ``unknown``/``timeout``/``error`` with
        ``error`` set) rather than raised, so one dead server does not hide other results.
        NoServerAvailable is raised if no server at all could be reached.
        """
        jobs = prepare_jobs(requests)
        if not jobs:
            return []
        deadline = self._deadline(timeout)
        batches: list[tuple[_ClientConnection, list[PendingJob]]] = []
        unreachable: NoServerAvailable | None = None
        for plan, group in self._group_by_server(jobs):
            try:
                batches.append((self._acquire(plan, deadline), group))
            except NoServerAvailable as exc:
                unreachable = exc
                for job in group:
                    job.fail_with(exc)
            except JobTimeout as exc:
                for job in group:
                    job.fail_with(exc)
        if unreachable is not None and not batches:
            raise unreachable
        self._run_batches(batches, deadline)
        return [job.to_result() for job in jobs]

    def _run_batches(
        self, batches: list[tuple[_ClientConnection, list[PendingJob]]], deadline: float
    ) -> None:
        """Write every batch first (servers work in parallel), then drain each connection.

        Sequential draining is fine: gearmand buffers our answers while we read another server.
        """
        started = [
            (conn, tracker)
            for conn, group in batches
            if (tracker := self._send_batch(conn, group, deadline)) is not None
        ]
        for conn, tracker in started:
            self._drain(conn, tracker, deadline)

    # ----------------------------------------------------------------- status

    def get_status(
        self,
        handle: bytes | str | JobResult,
        *,
        server: str | None = None,
        timeout: float | None = None,
    ) -> JobStatus:
        """GET_STATUS for a job handle, asked of the server that created it.

        Pass a JobResult (its server is used) or a handle plus ``server`` when several servers
        are configured.
        """
        if isinstance(handle, JobResult):
            if handle.handle is None:
                raise ValueError("this JobResult has no job handle")
            server = server or handle.server
            handle_bytes = handle.handle
        else:
            handle_bytes = to_bytes(handle, "handle")
        if server is None:
            if len(self.servers) > 1:
                raise ValueError("several servers are configured: say which one has the handle")
            index = 0
        else:
            address = parse_servers(server)[0]
            if address not in self.servers:
                raise ValueError(f"server {server!r} is not one of this client's servers")
            index = self.servers.index(address)
        deadline = self._deadline(timeout)
        pool = self._pools[index]
        conn = self._checkout_idle(pool)
        if conn is None:
            try:
                conn = self._connect(index, deadline)
            except (OSError, ConnectionLost) as exc:
                raise NoServerAvailable(f"cannot reach {pool.address}: {exc}") from exc
        try:
            conn.send(encode_packet(PacketType.GET_STATUS, (handle_bytes,)), deadline)
            while True:
                packet = conn.read_packet(deadline)
                if packet.type == PacketType.STATUS_RES and packet.args[0] == handle_bytes:
                    break
                if packet.type == PacketType.ERROR:
                    raise ProtocolError(f"GET_STATUS refused: {packet.args!r}")
        except ConnectionLost as exc:
            conn.close()
            raise NoServerAvailable(f"server {pool.address} failed: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        self._release(conn)
        args = packet.args
        return JobStatus(
            handle=args[0],
            known=args[1] == b"1",
            running=args[2] == b"1",
            numerator=int(args[3] or 0),
            denominator=int(args[4] or 0),
        )
