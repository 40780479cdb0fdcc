"""Sans-I/O core of the Gearman binary protocol: packet types, encoders and an incremental parser.

A packet is ``MAGIC (4 bytes) | TYPE (uint32 BE) | SIZE (uint32 BE) | ARGS``; the arguments are
NUL-separated and the last one may itself contain NUL bytes (it is the payload). Nothing here does
I/O: front ends feed received bytes to :class:`PacketParser` and send what the encoders return.
"""

from __future__ import annotations

import struct
from collections import deque
from enum import IntEnum
from typing import NamedTuple

from .transport_errors import ProtocolError

REQ = b"\0REQ"
RES = b"\0RES"
HEADER = struct.Struct(">4sII")
HEADER_SIZE = HEADER.size
DEFAULT_MAX_PACKET = 64 * 1024 * 1024


class PacketType(IntEnum):
    """Gearman packet type numbers (gearman.org protocol document)."""

    CAN_DO = 1
    CANT_DO = 2
    RESET_ABILITIES = 3
    PRE_SLEEP = 4
    NOOP = 6
    SUBMIT_JOB = 7
    JOB_CREATED = 8
    GRAB_JOB = 9
    NO_JOB = 10
    JOB_ASSIGN = 11
    WORK_STATUS = 12
    WORK_COMPLETE = 13
    WORK_FAIL = 14
    GET_STATUS = 15
    ECHO_REQ = 16
    ECHO_RES = 17
    SUBMIT_JOB_BG = 18
    ERROR = 19
    STATUS_RES = 20
    SUBMIT_JOB_HIGH = 21
    SET_CLIENT_ID = 22
    CAN_DO_TIMEOUT = 23
    ALL_YOURS = 24
    WORK_EXCEPTION = 25
    OPTION_REQ = 26
    OPTION_RES = 27
    WORK_DATA = 28
    WORK_WARNING = 29
    GRAB_JOB_UNIQ = 30
    JOB_ASSIGN_UNIQ = 31
    SUBMIT_JOB_HIGH_BG = 32
    SUBMIT_JOB_LOW = 33
    SUBMIT_JOB_LOW_BG = 34
    SUBMIT_JOB_SCHED = 35
    SUBMIT_JOB_EPOCH = 36
    GET_STATUS_UNIQUE = 41
    STATUS_RES_UNIQUE = 42


# How many NUL-separated arguments each packet carries; the last may contain NUL.
ARGUMENT_COUNTS: dict[int, int] = {
    PacketType.CAN_DO: 1,
    PacketType.CANT_DO: 1,
    PacketType.RESET_ABILITIES: 0,
    PacketType.PRE_SLEEP: 0,
    PacketType.NOOP: 0,
    PacketType.SUBMIT_JOB: 3,
    PacketType.JOB_CREATED: 1,
    PacketType.GRAB_JOB: 0,
    PacketType.NO_JOB: 0,
    PacketType.JOB_ASSIGN: 3,
    PacketType.WORK_STATUS: 3,
    PacketType.WORK_COMPLETE: 2,
    PacketType.WORK_FAIL: 1,
    PacketType.GET_STATUS: 1,
    PacketType.ECHO_REQ: 1,
    PacketType.ECHO_RES: 1,
    PacketType.SUBMIT_JOB_BG: 3,
    PacketType.ERROR: 2,
    PacketType.STATUS_RES: 5,
    PacketType.SUBMIT_JOB_HIGH: 3,
    PacketType.SET_CLIENT_ID: 1,
    PacketType.CAN_DO_TIMEOUT: 2,
    PacketType.ALL_YOURS: 0,
    PacketType.WORK_EXCEPTION: 2,
    PacketType.OPTION_REQ: 1,
    PacketType.OPTION_RES: 1,
    PacketType.WORK_DATA: 2,
    PacketType.WORK_WARNING: 2,
    PacketType.GRAB_JOB_UNIQ: 0,
    PacketType.JOB_ASSIGN_UNIQ: 4,
    PacketType.SUBMIT_JOB_HIGH_BG: 3,
    PacketType.SUBMIT_JOB_LOW: 3,
    PacketType.SUBMIT_JOB_LOW_BG: 3,
    PacketType.SUBMIT_JOB_SCHED: 8,
    PacketType.SUBMIT_JOB_EPOCH: 4,
    PacketType.GET_STATUS_UNIQUE: 1,
    PacketType.STATUS_RES_UNIQUE: 6,
}


class Packet(NamedTuple):
    """One decoded packet. ``magic`` is ``REQ`` or ``RES``; ``args`` are raw bytes."""

    magic: bytes
    type: int
    args: tuple[bytes, ...]


class SkippedBody(NamedTuple):
    """A packet whose body exceeded the parser's limit and was discarded unread.

    Only types the parser was told to skip (``PacketParser(skip_oversized=...)``) end up here;
    ``args`` are the arguments before the payload (the payload is gone), ``size`` the body size
    the header announced.
    """

    magic: bytes
    type: int
    args: tuple[bytes, ...]
    size: int


def encode_packet(ptype: int, args: tuple[bytes, ...] = (), magic: bytes = REQ) -> bytes:
    """Encode one packet; every argument but the last (the payload) must be NUL-free.

    The payload is copied once. The leading arguments are joined first: they are NUL-free
    exactly when the joined bytes hold one NUL per separator.
    """
    if not args:
        return HEADER.pack(magic, ptype, 0)
    payload = args[-1]
    if len(args) == 1:
        return HEADER.pack(magic, ptype, len(payload)) + payload
    leading = b"\0".join(args[:-1])
    if leading.count(0) != len(args) - 2:
        bad = next(arg for arg in args[:-1] if 0 in arg)
        name = PacketType(ptype).name
        raise ProtocolError(f"{name} argument must not contain a NUL byte: {bad[:40]!r}")
    size = len(leading) + 1 + len(payload)
    return b"".join((HEADER.pack(magic, ptype, size), leading, b"\0", payload))


def encode_handle_data(ptype: int, handle: bytes, data: bytes) -> bytes:
    """WORK_COMPLETE / WORK_DATA / WORK_WARNING / WORK_EXCEPTION from a worker: the handle is
    the server's own (from JOB_ASSIGN, so NUL-free), then the payload. One per job."""
    return b"".join((HEADER.pack(REQ, ptype, len(handle) + 1 + len(data)), handle, b"\0", data))


GRAB_JOB_UNIQ = encode_packet(PacketType.GRAB_JOB_UNIQ)
PRE_SLEEP = encode_packet(PacketType.PRE_SLEEP)

# How much of a skipped body is kept to read the arguments before its payload: gearmand's
# handle (64), function name (512) and unique id (64) limits fit with room to spare.
SKIPPED_HEAD_LIMIT = 2048


class _BodySkip:
    """Progress through one oversized body: its header, the head kept, the bytes left."""

    __slots__ = ("head", "magic", "remaining", "size", "type")

    def __init__(self, magic: bytes, ptype: int, size: int) -> None:
        self.magic = magic
        self.type = ptype
        self.size = size
        self.remaining = size
        self.head = bytearray()


Frame = Packet | SkippedBody


class PacketParser:
    """Incremental parser: ``feed(bytes)`` then iterate ``packets()``; bad input is ProtocolError.

    The buffer never holds more than one packet's worth beyond ``max_packet``: a header announcing
    a larger body is rejected as soon as its 12 bytes are seen, before any body is buffered. After
    a ProtocolError the parser is poisoned (the stream has lost framing) and keeps raising.

    Types listed in ``skip_oversized`` are the exception: such a body is read past without being
    kept (only its first ``SKIPPED_HEAD_LIMIT`` bytes, for the leading arguments) and delivered
    as a ``SkippedBody`` in stream order, so the stream stays usable and the peer can be answered.
    """

    __slots__ = (
        "_buffer",
        "_offset",
        "_ready",
        "_skip",
        "error",
        "expect_magic",
        "max_packet",
        "skip_oversized",
    )

    def __init__(
        self,
        *,
        max_packet: int = DEFAULT_MAX_PACKET,
        expect_magic: bytes | None = RES,
        skip_oversized: frozenset[int] = frozenset(),
    ):
        if max_packet < 0:
            raise ValueError("max_packet must be >= 0")
        self.max_packet = max_packet
        self.expect_magic = expect_magic
        self.skip_oversized = skip_oversized
        self._buffer = bytearray()
        self._offset = 0
        self._skip: _BodySkip | None = None
        self.error: ProtocolError | None = None
        self._ready: deque[Frame] = deque()

    @property
    def buffered(self) -> int:
        """Bytes received but not yet consumed as packets."""
        return len(self._buffer) - self._offset

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes; raises ProtocolError at once if a header is already invalid."""
        if self.error is not None:
            raise self.error
        if self._offset and self._offset == len(self._buffer):
            self._buffer.clear()
            self._offset = 0
        self._buffer += data
        if self._skip is None and len(self._buffer) - self._offset >= HEADER_SIZE:
            self._check_header(self._buffer, self._offset)

    def _fail(self, message: str) -> ProtocolError:
        self.error = ProtocolError(message)
        self._buffer = bytearray()
        self._offset = 0
        return self.error

    def _check_header(
        self, data: bytes | bytearray | memoryview, offset: int
    ) -> tuple[bytes, int, int]:
        """(magic, type, size) of the header at ``offset``; poisons the parser and raises if
        invalid.

        An oversized body of a type in ``skip_oversized`` passes: the caller skips it.
        """
        magic, ptype, size = HEADER.unpack_from(data, offset)
        if magic != self.expect_magic:
            if magic != REQ and magic != RES:
                raise self._fail(f"bad packet magic {magic!r} (the peer does not speak Gearman)")
            if self.expect_magic is not None:
                raise self._fail(
                    f"unexpected packet magic {magic!r}, expected {self.expect_magic!r}"
                )
        if ptype not in ARGUMENT_COUNTS:
            raise self._fail(f"unknown packet type {ptype}")
        if size > self.max_packet and ptype not in self.skip_oversized:
            raise self._fail(f"packet of {size} bytes exceeds the limit of {self.max_packet}")
        return magic, ptype, size

    def next_packet(self) -> Frame | None:
        """The next complete packet, or None if more bytes are needed."""
        if not self._ready:
            self._ready.extend(self.packets())
            if not self._ready:
                return None
        return self._ready.popleft()

    def push_back(self, packets: list[Frame]) -> None:
        """Queue packets (from ``feed_packets``) for ``next_packet``/``packets`` to return first."""
        self._ready.extend(packets)

    def packets(self) -> list[Frame]:
        """All complete packets buffered so far, in order.

        If a malformed packet follows good ones, the good ones are returned first and the
        ProtocolError is raised by the next call.
        """
        if self.error is not None:
            raise self.error
        out: list[Frame] = list(self._ready)
        self._ready.clear()
        buffer = self._buffer
        total = len(buffer)
        if total == self._offset:
            return out
        with memoryview(buffer) as view:
            try:
                offset = self._split(view, self._offset, total, out)
            except ProtocolError:
                if not out:
                    raise
                return out  # the error is stored: the next call raises it
        if offset == total:
            buffer.clear()
            self._offset = 0
        elif offset > 65536 and offset * 2 > total:
            del buffer[:offset]
            self._offset = 0
        else:
            self._offset = offset
        return out

    def feed_packets(self, data: memoryview) -> list[Frame]:
        """``feed(data)`` then ``packets()`` in one pass (the receive path of every exchange).

        With nothing buffered (the usual case: whole packets per receive) the packets are split
        straight out of ``data``; only an incomplete tail is copied into the buffer.
        """
        if self.error is not None:
            raise self.error
        if self._ready or self._offset != len(self._buffer):
            self.feed(data)
            return self.packets()  # includes what was pushed back or parsed ahead
        out: list[Frame] = []
        total = len(data)
        try:
            offset = self._split(data, 0, total, out)
        except ProtocolError:
            if not out:
                raise
            return out  # the error is stored: the next call raises it
        if offset != total:
            self._buffer.clear()
            self._buffer += data[offset:]
            self._offset = 0
        return out

    def _split(self, view: memoryview, offset: int, total: int, out: list[Frame]) -> int:
        """Append the complete packets of ``view[offset:total]`` to ``out``; return where the
        first incomplete one starts. A header is checked as soon as its 12 bytes are there."""
        if self._skip is not None:
            offset = self._skip_through(view, offset, total, out)
        while self._skip is None and total - offset >= HEADER_SIZE:
            magic, ptype, size = self._check_header(view, offset)
            start = offset + HEADER_SIZE
            if size > self.max_packet:  # a type to skip (_check_header refused the others)
                self._skip = _BodySkip(magic, ptype, size)
                offset = self._skip_through(view, start, total, out)
                continue
            end = start + size
            if end > total:
                break
            out.append(Packet(magic, ptype, self._arguments(ptype, view[start:end])))
            offset = end
        return offset

    def _arguments(self, ptype: int, body: memoryview) -> tuple[bytes, ...]:
        count = ARGUMENT_COUNTS[ptype]
        if count == 0:
            if len(body):
                name = PacketType(ptype).name
                raise self._fail(f"{name} must have no arguments, got {len(body)} bytes")
            return ()
        if count == 1:  # the whole body is the one argument: no split
            return (bytes(body),)
        args = tuple(bytes(body).split(b"\0", count - 1))
        if len(args) != count:
            name = PacketType(ptype).name
            raise self._fail(f"{name} needs {count} arguments, got {len(args)}")
        return args

    def _skip_through(self, view: memoryview, offset: int, total: int, out: list[Frame]) -> int:
        """Discard what ``view`` holds of the body being skipped; deliver it when it ends."""
        skip = self._skip
        assert skip is not None
        taken = min(skip.remaining, total - offset)
        room = SKIPPED_HEAD_LIMIT - len(skip.head)
        if room > 0:
            skip.head += view[offset : offset + min(taken, room)]
        skip.remaining -= taken
        offset += taken
        if skip.remaining == 0:
            self._skip = None
            leading = ARGUMENT_COUNTS[skip.type] - 1
            args = tuple(bytes(skip.head).split(b"\0", leading)[:leading])
            if len(args) != leading or (
                leading and len(skip.head) == sum(map(len, args)) + leading - 1
            ):
                name = PacketType(skip.type).name
                raise self._fail(
                    f"oversized {name}: its first {SKIPPED_HEAD_LIMIT} bytes do not hold "
                    f"its {leading} leading arguments"
                )
            out.append(SkippedBody(skip.magic, skip.type, args, skip.size))
        return offset
