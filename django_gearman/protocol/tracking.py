"""Job requests and results shared by the sync and asyncio clients (no I/O here)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from enum import IntEnum
from typing import NamedTuple

from .packets import PacketType, encode_packet
from .transport_errors import GearmanError, JobTimeout, OutcomeUnknown, ProtocolError, ServerError

log = logging.getLogger("django_gearman.protocol")

StatusCallback = Callable[[int, int], object]
DataCallback = Callable[[bytes], object]


class Priority(IntEnum):
    """Job priority; gearmand hands out HIGH before NORMAL before LOW."""

    LOW = 0
    NORMAL = 1
    HIGH = 2


_SUBMIT_TYPES = {
    (Priority.NORMAL, False): PacketType.SUBMIT_JOB,
    (Priority.HIGH, False): PacketType.SUBMIT_JOB_HIGH,
    (Priority.LOW, False): PacketType.SUBMIT_JOB_LOW,
    (Priority.NORMAL, True): PacketType.SUBMIT_JOB_BG,
    (Priority.HIGH, True): PacketType.SUBMIT_JOB_HIGH_BG,
    (Priority.LOW, True): PacketType.SUBMIT_JOB_LOW_BG,
}

# gearmand 1.1.20 stores a unique id in 64 bytes including the terminating NUL.
MAX_UNIQUE_SIZE = 63

# Terminal and reporting states of a JobResult.
COMPLETE = "complete"
FAILED = "failed"
EXCEPTION = "exception"
QUEUED = "queued"
UNKNOWN = "unknown"
TIMEOUT = "timeout"
ERROR = "error"


def to_bytes(value: bytes | bytearray | memoryview | str, what: str) -> bytes:
    """Accept str (UTF-8) or bytes-like; anything else is a TypeError naming the argument."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what} must be bytes or str, not {type(value).__name__}")


class JobRequest(NamedTuple):
    """One job to submit. ``unique`` coalesces identical jobs on the server."""

    function: str | bytes
    data: bytes | str = b""
    unique: str | bytes | None = None
    priority: Priority = Priority.NORMAL
    background: bool = False
    on_status: StatusCallback | None = None
    on_data: DataCallback | None = None
    on_warning: DataCallback | None = None


class JobResult(NamedTuple):
    """Outcome of one job.

    ``state`` is ``complete`` / ``failed`` / ``exception`` / ``queued`` (background, accepted), or,
    in ``submit_many`` results only, ``unknown`` / ``timeout`` / ``error`` with ``error`` set
    (``submit`` raises those instead).
    """

    handle: bytes | None
    state: str
    result: bytes = b""
    exception: bytes | None = None
    server: str = ""
    function: bytes = b""
    unique: bytes = b""
    status: tuple[int, int] | None = None
    error: GearmanError | None = None

    @property
    def ok(self) -> bool:
        """True for a completed foreground job or an accepted background job."""
        return self.state in (COMPLETE, QUEUED)

    def raise_for_error(self) -> JobResult:
        """Raise ``error`` for unknown/timeout/error states; return self otherwise."""
        if self.error is not None:
            raise self.error
        return self


def _parse_int(value: bytes) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _name_bytes(value: object, what: str) -> bytes:
    """Function name / unique id: str or bytes, never containing NUL."""
    raw = to_bytes(value, what)  # type: ignore[arg-type]
    if 0 in raw:  # a NUL byte
        raise ProtocolError(f"{what} must not contain NUL bytes: {raw[:40]!r}")
    return raw


def unique_bytes(value: str | bytes) -> bytes:
    """A unique id as gearmand will keep it; ValueError past ``MAX_UNIQUE_SIZE`` bytes."""
    unique = _name_bytes(value, "unique id")
    if len(unique) > MAX_UNIQUE_SIZE:
        raise ValueError(
            f"unique id is {len(unique)} bytes; gearmand keeps only {MAX_UNIQUE_SIZE} "
            "(it truncates longer ids, which corrupts persisted jobs): use a shorter id"
        )
    return unique


def submit_type(priority: Priority | int, background: object) -> PacketType:
    """The SUBMIT_JOB* packet type for a priority and foreground/background."""
    try:
        return _SUBMIT_TYPES[priority, bool(background)]  # type: ignore[index]
    except (KeyError, TypeError):  # TypeError: an unhashable priority
        raise ValueError(f"invalid priority {priority!r}") from None


class PendingJob:
    """A submitted job waiting for JOB_CREATED and (foreground) its final packet."""

    __slots__ = (
        "background",
        "error",
        "exception",
        "function",
        "handle",
        "packet",
        "request",
        "result",
        "server",
        "state",
        "status",
        "unique",
    )

    def __init__(self, request: JobRequest) -> None:
        if not isinstance(request, JobRequest):
            raise TypeError(f"expected a JobRequest, not {type(request).__name__}")
        function = _name_bytes(request.function, "function name")
        if not function:
            raise ValueError("function name must not be empty")
        unique = b"" if request.unique is None else unique_bytes(request.unique)
        data = to_bytes(request.data, "data")
        ptype = submit_type(request.priority, request.background)
        self.request = request
        self.background = bool(request.background)
        self.function = function
        self.unique = unique
        self.packet = encode_packet(ptype, (function, unique, data))
        self.server = ""
        self.handle: bytes | None = None
        self.state: str | None = None
        self.result = b""
        self.exception: bytes | None = None
        self.status: tuple[int, int] | None = None
        self.error: GearmanError | None = None

    @property
    def done(self) -> bool:
        return self.state is not None

    def fail_with(self, error: GearmanError) -> None:
        """Record a transport-level outcome (unknown/timeout/error) if not already final."""
        if self.state is None:
            self.error = error
            if isinstance(error, OutcomeUnknown):
                self.state = UNKNOWN
            elif isinstance(error, JobTimeout):
                self.state = TIMEOUT
            else:
                self.state = ERROR

    def to_result(self) -> JobResult:
        return JobResult(
            self.handle,
            self.state or UNKNOWN,
            self.result,
            self.exception,
            self.server,
            self.function,
            self.unique,
            self.status,
            self.error,
        )

    def _callback(self, callback: Callable[..., object] | None, *args: object) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # a callback bug must not lose this or other jobs' results
            log.exception("job %r: progress callback failed", self.handle)

    def on_packet(self, ptype: int, args: tuple[bytes, ...]) -> None:
        """Apply a WORK_* packet addressed to this job's handle."""
        request = self.request
        if ptype == PacketType.WORK_COMPLETE:
            self.state, self.result = COMPLETE, args[1]
        elif ptype == PacketType.WORK_FAIL:
            if self.state is None:
                self.state = FAILED
        elif ptype == PacketType.WORK_EXCEPTION:
            self.state, self.exception = EXCEPTION, args[1]
        elif ptype == PacketType.WORK_STATUS:
            self.status = (_parse_int(args[1]), _parse_int(args[2]))
            self._callback(request.on_status, *self.status)
        elif ptype == PacketType.WORK_DATA:
            self._callback(request.on_data, args[1])
        elif ptype == PacketType.WORK_WARNING:
            self._callback(request.on_warning, args[1])


WORK_PACKETS = frozenset(
    {
        PacketType.WORK_COMPLETE,
        PacketType.WORK_FAIL,
        PacketType.WORK_EXCEPTION,
        PacketType.WORK_STATUS,
        PacketType.WORK_DATA,
        PacketType.WORK_WARNING,
    }
)
FINAL_PACKETS = frozenset(
    {PacketType.WORK_COMPLETE, PacketType.WORK_FAIL, PacketType.WORK_EXCEPTION}
)


class JobTracker:
    """Sans-I/O matching of server packets to pending jobs on one connection.

    JOB_CREATED answers arrive in submit order per connection, so a FIFO maps each handle to its
    job; later WORK_* packets are routed by handle. Several jobs may share a handle (same unique):
    all of them receive the final packet.
    """

    __slots__ = ("awaiting_created", "by_handle", "open_jobs")

    def __init__(self) -> None:
        self.awaiting_created: deque[PendingJob] = deque()
        self.by_handle: dict[bytes, list[PendingJob]] = {}
        self.open_jobs = 0

    def submitted(self, job: PendingJob) -> None:
        self.awaiting_created.append(job)
        self.open_jobs += 1

    def handle_packet(self, ptype: int, args: tuple[bytes, ...]) -> list[PendingJob]:
        """Apply one packet; return the jobs it finished."""
        if ptype == PacketType.JOB_CREATED:
            if not self.awaiting_created:
                raise ProtocolError("JOB_CREATED without a pending submission")
            job = self.awaiting_created.popleft()
            job.handle = args[0]
            if job.background:
                job.state = QUEUED
                self.open_jobs -= 1
                return [job]
            self.by_handle.setdefault(args[0], []).append(job)
            return []
        if ptype in WORK_PACKETS:
            if ptype in FINAL_PACKETS:
                # gearmand 1.1.20 turns WORK_EXCEPTION into "WORK_FAIL handle\0" for clients
                # without the exceptions option: the handle never contains NUL, so cut there.
                handle = args[0].partition(b"\0")[0] if ptype == PacketType.WORK_FAIL else args[0]
                jobs = self.by_handle.pop(handle, None)
                if not jobs:
                    return []  # late packet for a job already finished (e.g. FAIL after EXCEPTION)
                for job in jobs:
                    job.on_packet(ptype, args)
                self.open_jobs -= len(jobs)
                return jobs
            for job in self.by_handle.get(args[0], ()):
                job.on_packet(ptype, args)
            return []
        if ptype == PacketType.ERROR:
            error = ServerError(args[0].decode(errors="replace"), args[1].decode(errors="replace"))
            if not self.awaiting_created:
                raise error
            job = self.awaiting_created.popleft()
            job.fail_with(error)
            self.open_jobs -= 1
            return [job]
        return []  # NOOP, OPTION_RES, STATUS_RES for someone else: nothing to route

    def discard(self, job: PendingJob) -> None:
        """Stop tracking a job whose caller gave up, once its handle is known.

        A job still waiting for JOB_CREATED must stay queued: it keeps the FIFO aligned.
        """
        if job.handle is None:
            return
        waiting = self.by_handle.get(job.handle)
        if waiting and job in waiting:
            waiting.remove(job)
            self.open_jobs -= 1
            if not waiting:
                del self.by_handle[job.handle]

    def abandon(self, error: GearmanError) -> list[PendingJob]:
        """The connection is gone or out of time: every open job gets ``error``."""
        jobs = list(self.awaiting_created)
        for waiting in self.by_handle.values():
            jobs.extend(waiting)
        for job in jobs:
            job.fail_with(error)
        self.awaiting_created.clear()
        self.by_handle.clear()
        self.open_jobs = 0
        return jobs
