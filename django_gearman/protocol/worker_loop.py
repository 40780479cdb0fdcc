"""Blocking Gearman worker: one thread serving jobs from every configured server at once.

The loop multiplexes all server connections with ``select.poll``; a job's callback runs in the loop
thread, so one job runs at a time. Run several processes (or several Worker objects in threads)
for parallelism. The loop only moves bytes and calls jobs: what to send when is decided by one
``WorkerSession`` per server (``worker_state.py``).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .address import ServerAddress, parse_servers
from .backoff import Backoff
from .connection import PacketConnection
from .packets import DEFAULT_MAX_PACKET, PacketType, encode_handle_data, encode_packet
from .tracking import to_bytes
from .transport_errors import ConnectionLost, GearmanError, JobTimeout, WorkException
from .worker_state import (
    JobAssigned,
    LinkState,
    OversizedJobRefused,
    ServerReportedError,
    WorkerSession,
)

# The logger keeps its historical name (logging configurations refer to it).
log = logging.getLogger("django_gearman.protocol.worker")

_SEND_TIMEOUT = 30.0
# Job packets whose body may be skipped (not buffered) when over the limit, so they can be failed.
_SKIPPABLE = frozenset({PacketType.JOB_ASSIGN_UNIQ})
# With ONE server the loop reads the answer to its GRAB_JOB_UNIQ in recv directly (gearmand
# answers at once), skipping a poll() per job when draining a queue; past this it polls again.
# With several servers it never waits on one: servers of one worker never wait for one another.
_GRAB_ANSWER_WAIT = 0.2
# With one server, after PRE_SLEEP the worker first waits this long for NOOP in recv itself (no
# poll() per job when jobs come one after another); then it polls, watching its stop socket.
# A stop() or an ability change that lands in this window is seen at most this much later.
_NOOP_WAIT = 0.02


class WorkerJob:
    """One assigned job, handed to the callback.

    ``function`` is the registered name (str); ``handle``, ``unique`` and ``data`` are bytes as
    the server sent them.
    """

    __slots__ = ("_conn", "data", "function", "handle", "unique")

    def __init__(
        self, conn: PacketConnection, handle: bytes, function: str, unique: bytes, data: bytes
    ) -> None:
        self._conn = conn
        self.handle = handle
        self.function = function
        self.unique = unique
        self.data = data

    def __repr__(self) -> str:
        return f"WorkerJob(function={self.function!r}, handle={self.handle!r})"

    def _send(self, packet: bytes) -> None:
        try:
            self._conn.send(packet, time.monotonic() + _SEND_TIMEOUT)
        except (ConnectionLost, JobTimeout) as exc:
            # The server is gone: it will re-queue the job; the callback may carry on.
            log.warning("job %r: could not send progress: %s", self.handle, exc)

    def send_status(self, numerator: int, denominator: int) -> None:
        """WORK_STATUS: progress ``numerator``/``denominator`` for the submitting client."""
        if not isinstance(numerator, int) or not isinstance(denominator, int):
            raise TypeError("send_status takes two integers")
        args = (self.handle, str(numerator).encode(), str(denominator).encode())
        self._send(encode_packet(PacketType.WORK_STATUS, args))

    def send_data(self, data: bytes | str) -> None:
        """WORK_DATA: a chunk of partial result for the submitting client."""
        chunk = to_bytes(data, "data")
        self._send(encode_handle_data(PacketType.WORK_DATA, self.handle, chunk))

    def send_warning(self, data: bytes | str) -> None:
        """WORK_WARNING: a warning for the submitting client; the job continues."""
        chunk = to_bytes(data, "warning")
        self._send(encode_handle_data(PacketType.WORK_WARNING, self.handle, chunk))


Callback = Callable[[WorkerJob], bytes | str | None]


@dataclass(frozen=True, slots=True)
class _Ability:
    callback: Callback
    timeout: int | None

    def packet(self, name: bytes) -> bytes:
        if self.timeout is None:
            return encode_packet(PacketType.CAN_DO, (name,))
        return encode_packet(PacketType.CAN_DO_TIMEOUT, (name, str(self.timeout).encode()))


class _Poller:
    """Readability of the server sockets and the wake-up socket: ``select.poll`` directly,
    which costs less per wake-up than the ``selectors`` module on the per-job path."""

    def __init__(self) -> None:
        self._poll = select.poll()
        self._links: dict[int, _ServerLink | None] = {}

    def register(self, sock: socket.socket, link: _ServerLink | None) -> None:
        fd = sock.fileno()
        self._poll.register(fd, select.POLLIN)
        self._links[fd] = link

    def unregister(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        if self._links.pop(fd, 0) != 0:
            self._poll.unregister(fd)

    def ready(self, timeout: float) -> list[_ServerLink | None]:
        """Links with something to read (``None`` stands for the wake-up socket)."""
        links = self._links
        return [links.get(fd) for fd, _ in self._poll.poll(max(timeout, 0.0) * 1000.0)]


class _ServerLink:
    """One server: its connection and protocol session when up, its reconnect delays."""

    __slots__ = ("address", "conn", "reconnect", "retry_at", "session")

    def __init__(self, address: ServerAddress, reconnect: Backoff) -> None:
        self.address = address
        self.conn: PacketConnection | None = None
        self.session = WorkerSession()
        self.reconnect = reconnect
        self.retry_at = 0.0


def result_bytes(value: object) -> bytes:
    """Callback return value -> WORK_COMPLETE payload; TypeError for anything unsupported."""
    return b"" if value is None else to_bytes(value, "a job callback's return value")  # type: ignore[arg-type]


class Worker:
    """Serve registered functions from every server until ``stop()`` or ``max_jobs``.

    ``register``/``unregister`` may be called before or during ``work()`` (from any thread).
    ``stop()`` is safe from any thread and from a signal handler: the current job finishes, its
    result is sent, and ``work()`` returns.
    """

    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        client_id: str | None = None,
        connect_timeout: float = 2.0,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        poll_interval: float = 1.0,
        max_packet: int = DEFAULT_MAX_PACKET,
    ) -> None:
        """``max_packet``: a job larger than this is refused with WORK_FAIL, unread."""
        self.servers = parse_servers(servers)
        if client_id is not None and (not client_id or any(c in client_id for c in "\0 \n")):
            raise ValueError("client_id must be non-empty, without spaces, newlines or NUL")
        self.client_id = client_id
        self.connect_timeout = connect_timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.poll_interval = poll_interval
        self.max_packet = max_packet
        self._abilities: dict[bytes, _Ability] = {}
        self._lock = threading.Lock()
        self._pending_packets: list[bytes] = []  # ability changes for connected servers
        self._stopping = False
        self._running = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.jobs_done = 0

    # ----------------------------------------------------------------- abilities

    def register(self, function: str, callback: Callback, timeout: int | None = None) -> None:
        """Serve ``function`` with ``callback``.

        ``timeout`` (whole seconds) sends CAN_DO_TIMEOUT: gearmand 1.1.20 then re-queues a job
        that runs longer (it does not fail it), and refuses the late result.
        """
        name = to_bytes(function, "function")
        if not name or b"\0" in name:
            raise ValueError("function name must be non-empty and without NUL bytes")
        if not callable(callback):
            raise TypeError("callback must be callable")
        if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
            raise ValueError("timeout must be a positive whole number of seconds or None")
        ability = _Ability(callback, timeout)
        with self._lock:
            self._abilities[name] = ability
            if self._running:
                self._pending_packets.append(ability.packet(name))
        self._wake()

    def unregister(self, function: str) -> None:
        """Stop serving ``function`` (CANT_DO); unknown names are ignored."""
        name = to_bytes(function, "function")
        with self._lock:
            if self._abilities.pop(name, None) is not None and self._running:
                self._pending_packets.append(encode_packet(PacketType.CANT_DO, (name,)))
        self._wake()

    @property
    def functions(self) -> list[str]:
        with self._lock:
            return [name.decode() for name in self._abilities]

    # ----------------------------------------------------------------- control

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full pipe: a wake-up is already pending
            self._wake_w.send(b"x")

    def stop(self) -> None:
        """Ask ``work()`` to return after the current job; safe from threads and signal handlers.

        Called before ``work()``, it makes the next ``work()`` return at once (a SIGTERM during
        start-up is not lost).
        """
        self._stopping = True
        self._wake()

    def close(self) -> None:
        """Release the wake-up socket pair (after ``work()`` has returned)."""
        self._wake_r.close()
        self._wake_w.close()

    # ----------------------------------------------------------------- loop

    def _hello(self) -> bytes:
        with self._lock:
            packets = [ability.packet(name) for name, ability in self._abilities.items()]
        if self.client_id is not None:
            packets.insert(0, encode_packet(PacketType.SET_CLIENT_ID, (self.client_id.encode(),)))
        return b"".join(packets)

    def _connect(self, link: _ServerLink, selector: _Poller) -> None:
        session = WorkerSession()
        if self._stopping:
            session.stop()
        try:
            conn = PacketConnection.connect(
                link.address,
                self.connect_timeout,
                max_packet=self.max_packet,
                skip_oversized=_SKIPPABLE,
            )
            conn.send(session.connected(self._hello()), time.monotonic() + self.connect_timeout)
        except (OSError, GearmanError) as exc:
            delay = link.reconnect.next()
            link.retry_at = time.monotonic() + delay
            log.warning("worker cannot reach %s (%s); retry in %.2fs", link.address, exc, delay)
            return
        link.conn, link.session = conn, session
        selector.register(conn.sock, link)
        log.info("worker connected to %s", link.address)

    def _drop(self, link: _ServerLink, selector: _Poller, reason: object) -> None:
        if link.conn is None:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            selector.unregister(link.conn.sock)
        link.conn.close()
        link.conn = None
        delay = link.reconnect.next()
        link.retry_at = time.monotonic() + delay
        log.warning("worker lost %s (%s); reconnecting in %.2fs", link.address, reason, delay)

    def work(self, max_jobs: int | None = None) -> int:
        """Serve jobs until ``stop()`` or ``max_jobs`` jobs; returns the number of jobs done."""
        if max_jobs is not None and max_jobs < 1:
            raise ValueError("max_jobs must be >= 1 or None")
        with self._lock:
            if self._running:
                raise RuntimeError("work() is already running for this Worker")
            if not self._abilities:
                raise ValueError("register at least one function before work()")
            self._running = True
            self._pending_packets.clear()
        done = 0
        ceiling = max(self.max_backoff, self.backoff)
        links = [_ServerLink(address, Backoff(self.backoff, ceiling)) for address in self.servers]
        selector = _Poller()
        selector.register(self._wake_r, None)
        try:
            while not self._stopping and (max_jobs is None or done < max_jobs):
                now = time.monotonic()
                for link in links:
                    if link.conn is None and link.retry_at <= now:
                        self._connect(link, selector)
                self._flush_ability_changes(links, selector)
                timeout = self.poll_interval
                for link in links:
                    if link.conn is None:
                        timeout = min(timeout, max(link.retry_at - now, 0.0))
                for ready in selector.ready(timeout):
                    if ready is None:
                        self._drain_wake()
                        continue
                    remaining = None if max_jobs is None else max_jobs - done
                    done += self._serve(ready, selector, remaining)
                    if self._stopping or (max_jobs is not None and done >= max_jobs):
                        break
        finally:
            for link in links:
                if link.conn is not None:
                    self._close_quietly(link.conn)
            with self._lock:
                self._running = False
            self._stopping = False  # the Worker can work() again
        self.jobs_done += done
        return done

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass

    def _flush_ability_changes(self, links: list[_ServerLink], selector: _Poller) -> None:
        if not self._pending_packets:
            return
        with self._lock:
            packets, self._pending_packets = self._pending_packets, []
        payload = b"".join(packets)
        for link in links:
            if link.conn is not None:
                try:
                    link.conn.send(
                        link.session.abilities_changed(payload), time.monotonic() + _SEND_TIMEOUT
                    )
                except (ConnectionLost, JobTimeout) as exc:
                    self._drop(link, selector, exc)

    @staticmethod
    def _close_quietly(conn: PacketConnection) -> None:
        """Close without RST: read what is pending so the last result is not reset away."""
        with contextlib.suppress(OSError):
            conn.sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                while conn.sock.recv(65536):
                    pass
            conn.sock.shutdown(socket.SHUT_WR)
        conn.close()

    def _serve(self, link: _ServerLink, selector: _Poller, remaining: int | None) -> int:
        """Handle what one readable server sent; returns how many jobs ran."""
        conn = link.conn
        if conn is None:
            return 0
        session = link.session
        done = 0
        try:
            frames = conn.receive_packets(time.monotonic() + _SEND_TIMEOUT)
            while True:
                for frame in frames:
                    if self._stopping:
                        session.stop()
                    event, answer = session.receive(frame)
                    if isinstance(event, JobAssigned):
                        done += 1
                        last = remaining is not None and done >= remaining
                        reply = self._run(conn, event)
                        if self._stopping:  # stop() came during the job: no next grab
                            session.stop()
                        answer = session.job_finished(reply, grab_next=not last)
                    elif event is not None:
                        self._report(link, event)
                    if answer:
                        conn.send(answer, time.monotonic() + _SEND_TIMEOUT)
                    if session.state is LinkState.STOPPED:
                        return done  # stopping, or this was the last job of work(max_jobs)
                if link.reconnect.failures:  # the server answered: a later loss starts anew
                    link.reconnect.reset()
                wait = self._direct_wait(session)
                if not wait or conn.parser.buffered:
                    return done  # never wait for the rest of a partial packet: poll() does
                try:
                    frames = conn.receive_packets(time.monotonic() + wait)
                except JobTimeout:
                    return done
        except GearmanError as exc:
            self._drop(link, selector, exc)
        return done

    def _direct_wait(self, session: WorkerSession) -> float:
        """How long to wait for this server's next packet in recv instead of poll(): only with
        one server (it cannot delay another one), and only for an answer that comes at once."""
        if len(self.servers) != 1 or self._stopping:
            return 0.0
        if session.state is LinkState.GRABBING:
            return _GRAB_ANSWER_WAIT
        if session.state is LinkState.SLEEPING:
            return _NOOP_WAIT
        return 0.0

    @staticmethod
    def _report(link: _ServerLink, event: OversizedJobRefused | ServerReportedError) -> None:
        if isinstance(event, OversizedJobRefused):
            log.error(
                "job %r for %r from %s is %d bytes, over this worker's max_packet: "
                "failed it without reading it",
                event.handle,
                event.function,
                link.address,
                event.size,
            )
        else:
            log.error("server %s sent ERROR %r %r", link.address, event.code, event.text)

    def _run(self, conn: PacketConnection, assigned: JobAssigned) -> bytes:
        """Run the callback; return the packet(s) that end the job."""
        handle, function = assigned.handle, assigned.function
        ability = self._abilities.get(function)  # a dict read is atomic; writes hold the lock
        if ability is None:
            log.error("job %r for unregistered function %r: failing it", handle, function)
            return encode_packet(PacketType.WORK_FAIL, (handle,))
        name = function.decode("utf-8", "replace")
        job = WorkerJob(conn, handle, name, assigned.unique, assigned.data)
        try:
            payload = result_bytes(ability.callback(job))
        except WorkException as exc:
            return encode_handle_data(PacketType.WORK_EXCEPTION, handle, exc.data)
        except Exception:
            log.exception("job %r (%s) failed", handle, job.function)
            return encode_packet(PacketType.WORK_FAIL, (handle,))
        return encode_handle_data(PacketType.WORK_COMPLETE, handle, payload)
