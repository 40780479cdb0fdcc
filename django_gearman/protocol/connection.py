"""Blocking socket connection shared by the sync client, the worker and the admin client."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time

from .address import ServerAddress
from .packets import DEFAULT_MAX_PACKET, RES, Frame, PacketParser
from .transport_errors import ConnectionLost, JobTimeout

RECV_CHUNK = 256 * 1024


def open_socket(address: ServerAddress, timeout: float) -> socket.socket:
    """Connect with TCP_NODELAY (requests are small and latency-bound); OSError on failure."""
    sock = socket.create_connection((address.host, address.port), timeout=timeout)
    with contextlib.suppress(OSError):  # not a TCP socket on some exotic platform
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# Kernel-side timeouts (SO_RCVTIMEO/SO_SNDTIMEO) on a blocking socket: a Python timeout socket
# would poll() before every recv/send, doubling the syscalls of the foreground round trip.
_TIMEVAL = struct.Struct("@ll")
# A wait may start this much later than the armed timeout assumed; re-arming costs a syscall.
_TIMEOUT_SLACK = 0.005
_FOREVER = float("inf")


class PacketConnection:
    """One TCP connection with its own parser and reusable receive buffer.

    ``read_packet`` raises ``ConnectionLost`` on EOF/reset and ``JobTimeout`` past the deadline
    (at most ``_TIMEOUT_SLACK`` late).
    """

    __slots__ = (
        "_poller",
        "_rcv_timeout",
        "_snd_timeout",
        "_view",
        "address",
        "idle_since",
        "name",
        "parser",
        "sock",
    )

    def __init__(
        self,
        address: ServerAddress,
        sock: socket.socket,
        *,
        max_packet: int = DEFAULT_MAX_PACKET,
        expect_magic: bytes | None = RES,
        skip_oversized: frozenset[int] = frozenset(),
    ) -> None:
        self.address = address
        self.name = str(address)
        sock.settimeout(None)
        self.sock = sock
        self.parser = PacketParser(
            max_packet=max_packet, expect_magic=expect_magic, skip_oversized=skip_oversized
        )
        self._view = memoryview(bytearray(RECV_CHUNK))
        self._rcv_timeout = _FOREVER
        self._snd_timeout = _FOREVER
        self._poller: select.poll | None = None
        self.idle_since = 0.0  # when a pool last put it back (monotonic)

    @classmethod
    def connect(cls, address: ServerAddress, timeout: float, **kwargs: object) -> PacketConnection:
        return cls(address, open_socket(address, timeout), **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def fileno(self) -> int:
        return self.sock.fileno()

    def _arm_kernel_timeout(self, deadline: float, receiving: bool) -> None:
        """Make the next recv/send give up by ``deadline``; JobTimeout if it already passed.

        The timeout lives in the kernel (SO_RCVTIMEO/SO_SNDTIMEO) and is re-armed only when the
        time left is shorter than the armed one: most receives cost one syscall, the recv.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JobTimeout(f"no answer from {self.address} in time")
        armed = self._rcv_timeout if receiving else self._snd_timeout
        if armed <= remaining + _TIMEOUT_SLACK:
            return
        whole = int(remaining)
        micros = int((remaining - whole) * 1_000_000) or (0 if whole else 1)  # 0 means forever
        option = socket.SO_RCVTIMEO if receiving else socket.SO_SNDTIMEO
        self.sock.setsockopt(socket.SOL_SOCKET, option, _TIMEVAL.pack(whole, micros))
        if receiving:
            self._rcv_timeout = remaining
        else:
            self._snd_timeout = remaining

    def send(self, data: bytes, deadline: float) -> None:
        """Send all bytes before ``deadline``.

        ConnectionLost on a socket error; JobTimeout if the server stops reading (what was
        sent is then unknown, so the caller must drop the connection).
        """
        self._arm_kernel_timeout(deadline, receiving=False)
        try:
            self.sock.sendall(data)
        except BlockingIOError as exc:
            raise JobTimeout(f"send to {self.address} timed out") from exc
        except OSError as exc:
            raise ConnectionLost(f"send to {self.address} failed: {exc}") from exc

    def read_packet(self, deadline: float) -> Frame:
        """Next packet from the server, waiting at most until ``deadline`` (monotonic)."""
        parser = self.parser
        packet = parser.next_packet()
        while packet is None:
            parser.push_back(self.receive_packets(deadline))
            packet = parser.next_packet()
        return packet

    def receive_packets(self, deadline: float) -> list[Frame]:
        """One recv; the packets it completed (maybe none), JobTimeout past the deadline.

        Packets parsed ahead by ``read_packet`` come first."""
        parser = self.parser
        if parser.error is not None:  # bad bytes after good packets: no need to wait for more
            raise parser.error
        while True:
            self._arm_kernel_timeout(deadline, receiving=True)
            try:
                count = self.sock.recv_into(self._view)
                break
            except BlockingIOError:
                self._rcv_timeout = _FOREVER  # the kernel timeout fired: re-arm with what is left
            except OSError as exc:
                raise ConnectionLost(f"connection to {self.address} failed: {exc}") from exc
        if not count:
            raise ConnectionLost(f"server {self.address} closed the connection")
        return parser.feed_packets(self._view[:count])

    def is_stale(self) -> bool:
        """True if an idle connection was closed by the server meanwhile (one poll syscall)."""
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self.sock, select.POLLIN)
        try:
            if not self._poller.poll(0):
                return False
            return not self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True
