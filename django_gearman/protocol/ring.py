"""Server choice shared by the sync and asyncio clients: rotation, unique affinity, failover."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence

from .address import ServerAddress, parse_servers
from .jobs import PendingJob
from .packets import DEFAULT_MAX_PACKET


class ServerRing:
    """Which server to try first, and in which order to fail over.

    A job with a unique id always starts at the same server (crc32 of the id), so that identical
    submissions meet and coalesce there; other jobs rotate round-robin. A server that failed is
    moved to the end of the order for ``down_interval`` seconds. ``retries`` extra rounds over the
    list are allowed, pausing ``backoff * 2**round`` (at most ``max_backoff``) between rounds.
    """

    def __init__(
        self,
        servers: Sequence[ServerAddress],
        *,
        retries: int,
        backoff: float,
        max_backoff: float,
        down_interval: float,
    ) -> None:
        if retries < 0 or backoff < 0 or max_backoff < 0 or down_interval < 0:
            raise ValueError("retries, backoff, max_backoff and down_interval must be >= 0")
        self.servers = list(servers)
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.down_interval = down_interval
        self._down_until = [0.0] * len(self.servers)
        self._rotation = 0
        self._lock = threading.Lock()

    def start_index(self, unique: bytes) -> int:
        count = len(self.servers)
        if count == 1:
            return 0
        if unique:
            return zlib.crc32(unique) % count
        with self._lock:
            self._rotation = (self._rotation + 1) % count
            return self._rotation

    def order(self, start: int) -> list[int]:
        """Server indexes from ``start`` on, servers marked down last."""
        count = len(self.servers)
        indexes = [(start + step) % count for step in range(count)]
        now = time.monotonic()
        down = self._down_until
        return [i for i in indexes if down[i] <= now] + [i for i in indexes if down[i] > now]

    def mark_down(self, index: int) -> None:
        self._down_until[index] = time.monotonic() + self.down_interval

    def mark_up(self, index: int) -> None:
        self._down_until[index] = 0.0

    def attempts(self, start: int) -> Iterator[tuple[float, int]]:
        """(pause, server index) pairs: every server once per round, ``retries`` extra rounds.

        ``pause`` is non-zero on the first server of a retry round: the caller sleeps that long
        first (or gives up if its deadline comes sooner).
        """
        for attempt in range(self.retries + 1):
            pause = min(self.backoff * 2 ** (attempt - 1), self.max_backoff) if attempt else 0.0
            for position, index in enumerate(self.order(start)):
                yield (pause if position == 0 else 0.0), index

    def index_of(self, address: ServerAddress) -> int:
        return self.servers.index(address)


class ClientBase:
    """Settings and server choice shared by ``Client`` and ``AsyncClient``."""

    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        connect_timeout: float = 2.0,
        retries: int = 1,
        backoff: float = 0.05,
        max_backoff: float = 1.0,
        down_interval: float = 1.0,
        default_timeout: float = 30.0,
        max_packet: int = DEFAULT_MAX_PACKET,
    ) -> None:
        self.servers = parse_servers(servers)
        if connect_timeout <= 0 or default_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.ring = ServerRing(
            self.servers,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            down_interval=down_interval,
        )
        self.connect_timeout = connect_timeout
        self.default_timeout = default_timeout
        self.max_packet = max_packet

    def _deadline(self, timeout: float | None) -> float:
        if timeout is None:
            return time.monotonic() + self.default_timeout
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        return time.monotonic() + timeout

    def _connect_timeout(self, deadline: float) -> float:
        return min(self.connect_timeout, max(deadline - time.monotonic(), 0.001))

    def _group_by_server(self, jobs: Iterable[PendingJob]) -> dict[int, list[PendingJob]]:
        """First server of each job (see ServerRing); one group per server, order kept."""
        if len(self.servers) == 1:
            return {0: list(jobs)}
        groups: dict[int, list[PendingJob]] = {}
        for job in jobs:
            groups.setdefault(self.ring.start_index(job.unique), []).append(job)
        return groups
