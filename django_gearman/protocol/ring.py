"""Server choice shared by the sync and asyncio clients: rotation, unique affinity, failover."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Sequence

from .address import ServerAddress


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

    def pause_before_round(self, attempt: int) -> float:
        """Seconds to wait before retry round ``attempt`` (1-based)."""
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)

    def index_of(self, address: ServerAddress) -> int:
        return self.servers.index(address)
