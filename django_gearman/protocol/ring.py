"""Server choice shared by the sync and asyncio clients: rotation, unique affinity, avoidance.

Sans-I/O: the clients report what happened (``mark_up`` / ``mark_down``) and ask in which order
to try the servers; the ring never touches a socket.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator, Sequence

from .address import ServerAddress
from .backoff import Backoff


class _Health:
    """What the ring knows of one server: since when it may be tried again, and who probes it."""

    __slots__ = ("avoidance", "down_until", "probe_until")

    def __init__(self, avoidance: Backoff) -> None:
        self.avoidance = avoidance
        self.down_until = 0.0  # 0.0: healthy; otherwise avoided until then (monotonic)
        self.probe_until = 0.0  # a caller holds the probe until then (or until it reports)


class ServerRing:
    """Which server to try first, and in which order to fail over.

    A job with a unique id always starts at the same server (crc32 of the id), so that identical
    submissions meet and coalesce there; other jobs rotate round-robin. A server that failed or
    stopped answering is *avoided*: tried last, for ``down_interval`` seconds, doubling with
    each further failure up to ``max_down_interval``. When the avoidance ends, exactly one caller
    (one that would start there anyway) probes it; everyone else keeps avoiding it until that
    probe reports success (``mark_up``) or failure (``mark_down``), or ``probe_timeout`` passes.
    So a hung server costs one caller one timeout per avoidance period, never every caller.

    ``retries`` extra rounds over the list are allowed, pausing between rounds by the
    ``Backoff(backoff, max_backoff)`` rule.
    """

    def __init__(
        self,
        servers: Sequence[ServerAddress],
        *,
        retries: int,
        backoff: float,
        max_backoff: float,
        down_interval: float,
        max_down_interval: float = 30.0,
        probe_timeout: float = 10.0,
    ) -> None:
        if retries < 0 or backoff < 0 or max_backoff < 0 or down_interval < 0:
            raise ValueError("retries, backoff, max_backoff and down_interval must be >= 0")
        if probe_timeout <= 0:
            raise ValueError("probe_timeout must be positive")
        self.servers = list(servers)
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max(max_backoff, backoff)
        self.down_interval = down_interval
        self.probe_timeout = probe_timeout
        ceiling = max(max_down_interval, down_interval)
        self._health = [_Health(Backoff(down_interval, ceiling)) for _ in self.servers]
        self._rotation = 0
        self._lock = threading.Lock()

    def start_index(self, unique: bytes) -> int:
        """The server a job would start at if every server were healthy."""
        count = len(self.servers)
        if count == 1:
            return 0
        if unique:
            return zlib.crc32(unique) % count
        with self._lock:
            self._rotation = (self._rotation + 1) % count
            return self._rotation

    def plan(self, unique: bytes) -> list[int]:
        """The servers to try for one job, in order (see ``order``); call once per job."""
        if len(self.servers) == 1:
            return [0]
        return self.order(self.start_index(unique))

    def is_avoided(self, index: int) -> bool:
        return self._health[index].down_until != 0.0

    def order(self, start: int) -> list[int]:
        """Server indexes from ``start`` on, avoided servers last.

        An avoided server whose avoidance ended is tried in its place by the one caller that
        starts there and finds no probe under way (this call then holds the probe).
        """
        count = len(self.servers)
        indexes = [(start + step) % count for step in range(count)]
        health = self._health
        if all(health[i].down_until == 0.0 for i in indexes):
            return indexes
        now = time.monotonic()
        usable: list[int] = []
        avoided: list[int] = []
        with self._lock:
            for i in indexes:
                state = health[i]
                if state.down_until == 0.0:
                    usable.append(i)
                elif i == start and state.down_until <= now and state.probe_until <= now:
                    state.probe_until = now + self.probe_timeout
                    usable.append(i)
                else:
                    avoided.append(i)
        return usable + avoided

    def mark_down(self, index: int) -> float:
        """The server failed or stopped answering: avoid it (longer each time); the period."""
        with self._lock:
            state = self._health[index]
            period = state.avoidance.next()
            state.down_until = time.monotonic() + period
            state.probe_until = 0.0
            return period

    def mark_up(self, index: int) -> None:
        """The server answered: stop avoiding it and forget its failures."""
        state = self._health[index]
        if state.down_until == 0.0 and not state.avoidance.failures:
            return  # the usual case, without taking the lock
        with self._lock:
            state.down_until = 0.0
            state.probe_until = 0.0
            state.avoidance.reset()

    def attempts(self, plan: list[int]) -> Iterator[tuple[float, int]]:
        """(pause, server index) pairs: every server once per round, ``retries`` extra rounds.

        The first round follows ``plan`` (from ``plan()``); later rounds re-order from its first
        server. ``pause`` is non-zero on the first server of a retry round: the caller sleeps
        that long first (or gives up if its deadline comes sooner).
        """
        pauses = Backoff(self.backoff, self.max_backoff, jitter=0.0)
        for attempt in range(self.retries + 1):
            pause = pauses.next() if attempt else 0.0
            for position, index in enumerate(self.order(plan[0]) if attempt else plan):
                yield (pause if position == 0 else 0.0), index
