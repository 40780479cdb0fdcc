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

from .errors import ProtocolError

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


def _check_argument(value: bytes, name: str) -> None:
    if b"\0" in value:
        raise ProtocolError(f"{name} must not contain a NUL byte: {value[:40]!r}")


def encode_packet(ptype: int, args: tuple[bytes, ...] = (), magic: bytes = REQ) -> bytes:
    """Encode one packet; every argument but the last is checked to be NUL-free."""
    for arg in args[:-1]:
        _check_argument(arg, PacketType(ptype).name + " argument")
    body = b"\0".join(args)
    return HEADER.pack(magic, ptype, len(body)) + body


_SUBMIT_HEADER = HEADER.pack  # bound once: the submit path is the hot path


def encode_submit(ptype: int, function: bytes, unique: bytes, data: bytes) -> bytes:
    """SUBMIT_JOB* packet; ``function`` and ``unique`` must be NUL-free."""
    if b"\0" in function or b"\0" in unique:
        _check_argument(function, "function name")
        _check_argument(unique, "unique id")
    size = len(function) + len(unique) + len(data) + 2
    return b"".join((_SUBMIT_HEADER(REQ, ptype, size), function, b"\0", unique, b"\0", data))


def encode_handle_data(ptype: int, handle: bytes, data: bytes) -> bytes:
    """WORK_COMPLETE / WORK_DATA / WORK_WARNING / WORK_EXCEPTION from a worker."""
    return b"".join((HEADER.pack(REQ, ptype, len(handle) + 1 + len(data)), handle, b"\0", data))


_GRAB_JOB_UNIQ = HEADER.pack(REQ, PacketType.GRAB_JOB_UNIQ, 0)
_PRE_SLEEP = HEADER.pack(REQ, PacketType.PRE_SLEEP, 0)
_NOOP_RES = HEADER.pack(RES, PacketType.NOOP, 0)


def grab_job_uniq() -> bytes:
    return _GRAB_JOB_UNIQ


def pre_sleep() -> bytes:
    return _PRE_SLEEP


class PacketParser:
    """Incremental parser: ``feed(bytes)`` then iterate ``packets()``; bad input is ProtocolError.

    The buffer never holds more than one packet's worth beyond ``max_packet``: a header announcing
    a larger body is rejected as soon as its 12 bytes are seen, before any body is buffered. After
    a ProtocolError the parser is poisoned (the stream has lost framing) and keeps raising.
    """

    __slots__ = ("_buffer", "_offset", "_ready", "error", "expect_magic", "max_packet")

    def __init__(self, *, max_packet: int = DEFAULT_MAX_PACKET, expect_magic: bytes | None = RES):
        if max_packet < 0:
            raise ValueError("max_packet must be >= 0")
        self.max_packet = max_packet
        self.expect_magic = expect_magic
        self._buffer = bytearray()
        self._offset = 0
        self.error: ProtocolError | None = None
        self._ready: deque[Packet] = deque()

    @property
    def buffered(self) -> int:
        """Bytes received but not yet consumed as packets."""
        return len(self._buffer) - self._offset

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes; raises ProtocolError at once if a header is already invalid."""
        if self.error is not None:
            raise self.error
        buffer = self._buffer
        offset = self._offset
        if offset and offset == len(buffer):
            buffer.clear()
            offset = self._offset = 0
        buffer += data
        if len(buffer) - offset >= HEADER_SIZE:
            magic, ptype, size = HEADER.unpack_from(buffer, offset)
            if size > self.max_packet or ptype not in ARGUMENT_COUNTS or magic != self.expect_magic:
                self._check_header(offset)  # raises the precise error (or accepts expect=None)

    def _fail(self, message: str) -> ProtocolError:
        self.error = ProtocolError(message)
        self._buffer = bytearray()
        self._offset = 0
        return self.error

    def _check_header(self, offset: int) -> tuple[bytes, int, int]:
        return self._check_header_at(self._buffer, offset)

    def _check_header_at(
        self, data: bytes | bytearray | memoryview, offset: int
    ) -> tuple[bytes, int, int]:
        magic, ptype, size = HEADER.unpack_from(data, offset)
        if magic != REQ and magic != RES:
            raise self._fail(f"bad packet magic {magic!r} (the peer does not speak Gearman)")
        if self.expect_magic is not None and magic != self.expect_magic:
            raise self._fail(f"unexpected packet magic {magic!r}, expected {self.expect_magic!r}")
        if size > self.max_packet:
            raise self._fail(f"packet of {size} bytes exceeds the limit of {self.max_packet}")
        if ptype not in ARGUMENT_COUNTS:
            raise self._fail(f"unknown packet type {ptype}")
        return magic, ptype, size

    def next_packet(self) -> Packet | None:
        """The next complete packet, or None if more bytes are needed."""
        ready = self._ready
        if not ready:
            if self.error is None and len(self._buffer) - self._offset < HEADER_SIZE:
                return None  # the usual "nothing yet" of the worker loop, without packets()
            ready.extend(self.packets())
            if not ready:
                return None
        return ready.popleft()

    def push_back(self, packets: list[Packet]) -> None:
        """Queue packets (from ``feed_packets``) for ``next_packet``/``packets`` to return first."""
        if packets:
            self._ready.extend(packets)

    def packets(self) -> list[Packet]:
        """All complete packets buffered so far, in order (one tight loop: the hot path).

        If a malformed packet follows good ones, the good ones are returned first and the
        ProtocolError is raised by the next call.
        """
        if self.error is not None:
            raise self.error
        if len(self._buffer) - self._offset < HEADER_SIZE and not self._ready:
            return []
        out: list[Packet] = []
        if self._ready:
            out.extend(self._ready)
            self._ready.clear()
        buffer = self._buffer
        total = len(buffer)
        view = memoryview(buffer)
        try:
            offset = self._split(view, self._offset, total, out)
        except ProtocolError:
            if not out:
                raise
            return out  # the error is stored: the next call raises it
        finally:
            view.release()
        if offset == total:
            buffer.clear()
            self._offset = 0
        elif offset > 65536 and offset * 2 > total:
            del buffer[:offset]
            self._offset = 0
        else:
            self._offset = offset
        return out

    def feed_packets(self, data: memoryview) -> list[Packet]:
        """``feed(data)`` then ``packets()`` in one pass (the receive path of every exchange).

        With nothing buffered (the usual case: whole packets per receive) the packets are split
        straight out of ``data``; only an incomplete tail is copied into the buffer.
        """
        if self.error is not None:
            raise self.error
        if self._ready or self._offset != len(self._buffer):
            self.feed(data)
            return self.packets()  # includes what was pushed back or parsed ahead
        out: list[Packet] = []
        total = len(data)
        try:
            offset = self._split(data, 0, total, out)
        except ProtocolError:
            if not out:
                raise
            return out  # the error is stored: the next call raises it
        if offset != total:
            buffer = self._buffer
            buffer.clear()
            buffer += data[offset:]
            self._offset = 0
        return out

    def _split(self, view: memoryview, offset: int, total: int, out: list[Packet]) -> int:
        """Append the complete packets of ``view[offset:total]`` to ``out``; return where the
        first incomplete one starts. A header is checked as soon as its 12 bytes are there."""
        unpack = HEADER.unpack_from
        expect = self.expect_magic
        limit = self.max_packet
        counts = ARGUMENT_COUNTS
        append = out.append
        new_packet = tuple.__new__  # skips the NamedTuple's Python-level __new__
        while total - offset >= HEADER_SIZE:
            magic, ptype, size = unpack(view, offset)
            count = counts.get(ptype, -1)
            if count < 0 or size > limit or magic != expect:
                # raises the precise ProtocolError (with expect_magic None: checks REQ or RES)
                self._check_header_at(view, offset)
            start = offset + HEADER_SIZE
            end = start + size
            if end > total:
                break
            if count == 1:
                args: tuple[bytes, ...] = (bytes(view[start:end]),)
            elif count == 0:
                if size:
                    name = PacketType(ptype).name
                    raise self._fail(f"{name} must have no arguments, got {size} bytes")
                args = ()
            else:
                args = tuple(bytes(view[start:end]).split(b"\0", count - 1))
                if len(args) != count:
                    name = PacketType(ptype).name
                    raise self._fail(f"{name} needs {count} arguments, got {len(args)}")
            append(new_packet(Packet, (magic, ptype, args)))
            offset = end
        return offset
