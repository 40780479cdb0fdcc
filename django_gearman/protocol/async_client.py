"""asyncio Gearman client on the same sans-I/O core: many jobs in flight per connection.

One connection per server, shared by every coroutine. Submissions are written in call order, and
gearmand answers JOB_CREATED in submit order per connection, so a FIFO (``JobTracker``) gives each
handle to the right job; later WORK_* packets are routed by handle to each job's own future.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .address import ServerAddress
from .client_base import ClientBase, prepare_job, prepare_jobs
from .packets import PacketParser, PacketType, encode_packet
from .tracking import (
    DataCallback,
    JobRequest,
    JobResult,
    JobTracker,
    PendingJob,
    Priority,
    StatusCallback,
)
from .transport_errors import (
    ConnectionLost,
    GearmanError,
    JobTimeout,
    NoServerAvailable,
    OutcomeUnknown,
    ProtocolError,
)

_OPTION_EXCEPTIONS = encode_packet(PacketType.OPTION_REQ, (b"exceptions",))


class _Batch:
    """Jobs of one ``_run`` call: a single future resolved when the last of them is final."""

    __slots__ = ("future", "pending")

    def __init__(self, loop: asyncio.AbstractEventLoop, pending: int) -> None:
        self.future: asyncio.Future[None] = loop.create_future()
        self.pending = pending

    def one_done(self) -> None:
        self.pending -= 1
        if self.pending <= 0 and not self.future.done():
            self.future.set_result(None)

    def expire(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class _GearmanProtocol(asyncio.Protocol):
    """One client connection: parses packets and resolves each job's batch.

    Submissions made during one event-loop iteration are written together (one ``write``), so
    many coroutines submitting at once cost one syscall, not one each. The tracker FIFO is
    appended in the same order as the outbox, which keeps JOB_CREATED matching exact.

    A watchdog runs while submissions wait for JOB_CREATED: if the server sends nothing for
    ``ack_timeout`` seconds it is hung; ``on_hung`` is told (the client avoids the server) and
    every job on the connection ends with ``JobTimeout`` (never re-sent).
    """

    def __init__(
        self,
        address: ServerAddress,
        max_packet: int,
        ack_timeout: float,
        on_hung: Callable[[], object],
    ) -> None:
        self.ack_timeout = ack_timeout
        self.on_hung = on_hung
        self.heard_at = 0.0  # the later of: last packet received, first unacknowledged submit
        self.watchdog: asyncio.TimerHandle | None = None
        self.address = address
        self.name = str(address)
        self.parser = PacketParser(max_packet=max_packet)
        self.tracker = JobTracker()
        self.transport: asyncio.Transport | None = None
        self.waiters: dict[int, _Batch] = {}
        self.loop = asyncio.get_running_loop()
        self.option_ack: asyncio.Future[None] = self.loop.create_future()
        self.outbox: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(_OPTION_EXCEPTIONS)

    def data_received(self, data: bytes) -> None:
        self.heard_at = time.monotonic()
        try:
            self.parser.feed(data)
            handle = self.tracker.handle_packet
            for packet in self.parser.packets():
                if packet.type == PacketType.OPTION_RES and not self.option_ack.done():
                    self.option_ack.set_result(None)
                    continue
                for job in handle(packet.type, packet.args):
                    self._resolve(job)
        except GearmanError as exc:
            self._fail_all(exc if isinstance(exc, ProtocolError) else OutcomeUnknown(str(exc)))
            if self.transport is not None:
                self.transport.abort()

    def _resolve(self, job: PendingJob) -> None:
        batch = self.waiters.pop(id(job), None)
        if batch is not None:
            batch.one_done()

    def _fail_all(self, error: GearmanError) -> None:
        self.closed = True
        self.outbox.clear()
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        for job in self.tracker.abandon(error):
            self._resolve(job)
        if not self.option_ack.done():
            self.option_ack.set_exception(error)

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc else ""
        self._fail_all(
            OutcomeUnknown(
                f"server {self.address} closed the connection with jobs in flight{reason}"
            )
        )

    def submit(self, jobs: list[PendingJob], batch: _Batch) -> None:
        """Queue the jobs for this iteration's write; ``batch`` hears when each is final."""
        if self.closed or self.transport is None or self.transport.is_closing():
            raise ConnectionLost(f"connection to {self.address} is closed")
        server = self.name
        waiters = self.waiters
        submitted = self.tracker.submitted
        outbox = self.outbox
        if not outbox:
            self.loop.call_soon(self._flush)
        if not self.tracker.awaiting_created:
            self.heard_at = time.monotonic()  # the ack window starts with this submission
        if self.watchdog is None:
            self.watchdog = self.loop.call_later(self.ack_timeout, self._check_acknowledged)
        for job in jobs:
            job.server = server
            waiters[id(job)] = batch
            submitted(job)
            outbox.append(job.packet)

    def _flush(self) -> None:
        if self.outbox and self.transport is not None and not self.closed:
            self.transport.write(b"".join(self.outbox))
        self.outbox.clear()

    def _check_acknowledged(self) -> None:
        """Watchdog: re-armed while submissions wait; fires the hang rule past the window."""
        self.watchdog = None
        if self.closed or not self.tracker.awaiting_created:
            return
        silent_for = time.monotonic() - self.heard_at
        if silent_for < self.ack_timeout:
            wait = self.ack_timeout - silent_for
            self.watchdog = self.loop.call_later(wait, self._check_acknowledged)
            return
        self.on_hung()
        self._fail_all(JobTimeout(f"{self.address} acknowledged nothing for {silent_for:.2g}s"))
        if self.transport is not None:
            self.transport.abort()

    def forget(self, job: PendingJob) -> None:
        """A caller gave up (timeout/cancel): stop resolving it and stop tracking it."""
        self.waiters.pop(id(job), None)
        self.tracker.discard(job)


class AsyncClient(ClientBase):
    """asyncio client: ``await client.submit(...)`` / ``await client.submit_many(...)``.

    Use it from one event loop. Results and failures have the same meaning as for ``Client``.
    """

    def __init__(self, servers: str | Sequence[str], **settings: Any) -> None:
        """``settings``: connect_timeout, retries, backoff, max_backoff, down_interval,
        max_down_interval, ack_timeout, default_timeout, max_packet (see ClientBase)."""
        super().__init__(servers, **settings)
        self._connections: dict[int, _GearmanProtocol] = {}
        self._connecting: dict[int, asyncio.Lock] = {}

    async def _open(self, index: int, deadline: float) -> _GearmanProtocol:
        address = self.servers[index]
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._connect_timeout(deadline)):
            _, protocol = await loop.create_connection(
                lambda: _GearmanProtocol(
                    address, self.max_packet, self.ack_timeout, lambda: self.ring.mark_down(index)
                ),
                address.host,
                address.port,
            )
            try:
                await protocol.option_ack
            except BaseException:
                if protocol.transport is not None:
                    protocol.transport.abort()
                raise
        return protocol

    async def _connection(self, index: int, deadline: float) -> _GearmanProtocol:
        current = self._connections.get(index)
        if current is not None and not current.closed:
            return current
        lock = self._connecting.setdefault(index, asyncio.Lock())
        async with lock:
            current = self._connections.get(index)
            if current is not None and not current.closed:
                return current
            protocol = await self._open(index, deadline)
            self._connections[index] = protocol
            return protocol

    async def _acquire(self, plan: list[int], deadline: float) -> _GearmanProtocol:
        current = self._connections.get(plan[0])  # fast path: the connection is up
        if current is not None and not current.closed:
            return current
        errors: list[str] = []
        for pause, index in self.ring.attempts(plan):
            if pause:
                if time.monotonic() + pause >= deadline:
                    break
                await asyncio.sleep(pause)
            if time.monotonic() >= deadline:
                raise JobTimeout("timed out while connecting to a gearmand server")
            try:
                protocol = await self._connection(index, deadline)
            except (OSError, TimeoutError, GearmanError) as exc:
                self.ring.mark_down(index)
                errors.append(f"{self.servers[index]}: {exc!r}")
                continue
            self.ring.mark_up(index)
            return protocol
        raise NoServerAvailable("no gearmand server available: " + "; ".join(errors[-4:]))

    async def _run(self, jobs: list[PendingJob], deadline: float) -> None:
        """Submit jobs grouped by server, wait until all are final or the deadline passes."""
        loop = asyncio.get_running_loop()
        batch = _Batch(loop, len(jobs))
        placed: list[tuple[_GearmanProtocol, list[PendingJob]]] = []
        for plan, group in self._group_by_server(jobs):
            try:
                protocol = await self._acquire(plan, deadline)
                protocol.submit(group, batch)
            except GearmanError as exc:
                for job in group:
                    job.fail_with(exc)
                    batch.one_done()
                continue
            placed.append((protocol, group))
        timer = loop.call_later(max(deadline - time.monotonic(), 0.0), batch.expire)
        try:
            await batch.future
        finally:
            timer.cancel()
            for protocol, group in placed:
                for job in group:
                    if job.state is None:
                        protocol.forget(job)
                        job.fail_with(JobTimeout(f"job did not finish in time on {job.server}"))

    async def submit(
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
        """Submit one job; raises JobTimeout, OutcomeUnknown, NoServerAvailable, ServerError."""
        job = prepare_job(
            function, data, unique, priority, background, on_status, on_data, on_warning
        )
        await self._run([job], self._deadline(timeout))
        if job.error is not None:
            raise job.error
        return job.to_result()

    async def submit_many(
        self, requests: Iterable[JobRequest], timeout: float | None = None
    ) -> list[JobResult]:
        """Submit a batch (one write per server); failures are reported per job, as in Client."""
        jobs = prepare_jobs(requests)
        if jobs:
            await self._run(jobs, self._deadline(timeout))
        return [job.to_result() for job in jobs]

    async def close(self) -> None:
        """Close every connection; jobs still in flight end as OutcomeUnknown."""
        connections = list(self._connections.values())
        self._connections.clear()
        for protocol in connections:
            if protocol.transport is not None:
                protocol.transport.close()
        await asyncio.sleep(0)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
