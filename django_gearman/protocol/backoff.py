"""The one retry-delay rule of the library: exponential growth, a cap, and downward jitter.

Clients (pauses between retry rounds, how long a hung server is avoided), the worker (reconnect
delays) and the Django supervisor (child restarts) all wait by this rule, so one formula is
tested and tuned in one place.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays ``initial, initial*factor, initial*factor**2, ...`` capped at ``maximum``.

    ``next()`` records one more failure and returns how long to wait before the next try;
    ``reset()`` after a success starts again at ``initial``. Each delay is shortened by a random
    fraction of at most ``jitter`` (0.1: the delay lies in [0.9 d, d]) so that many processes
    that failed together do not retry in lockstep; the cap is never exceeded.

    Not thread-safe: an owner shared by threads guards it with its own lock.
    """

    __slots__ = ("_random", "_undelayed", "factor", "failures", "initial", "jitter", "maximum")

    def __init__(
        self,
        initial: float,
        maximum: float,
        factor: float = 2.0,
        jitter: float = 0.1,
        *,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        """``random_fraction`` returns a float in [0, 1); tests pass a fixed one."""
        if initial < 0 or maximum < initial:
            raise ValueError(f"need 0 <= initial <= maximum, got {initial!r} and {maximum!r}")
        if factor < 1:
            raise ValueError(f"factor must be >= 1 (delays never shrink), got {factor!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
        self.initial = float(initial)
        self.maximum = float(maximum)
        self.factor = float(factor)
        self.jitter = float(jitter)
        self.failures = 0
        self._undelayed = self.initial
        self._random = random_fraction

    def __repr__(self) -> str:
        return (
            f"Backoff(initial={self.initial}, maximum={self.maximum}, factor={self.factor}, "
            f"jitter={self.jitter}, failures={self.failures})"
        )

    def peek(self) -> float:
        """The delay the next failure would bring, before jitter (nothing is recorded)."""
        return self._undelayed

    def next(self) -> float:
        """Record a failure; the delay to wait before trying again (seconds)."""
        delay = self._undelayed
        self.failures += 1
        # Grown step by step (never factor**failures, which overflows after many failures).
        self._undelayed = min(delay * self.factor, self.maximum)
        return delay * (1.0 - self.jitter * self._random())

    def reset(self) -> None:
        """A success: the next failure waits ``initial`` again."""
        self.failures = 0
        self._undelayed = self.initial
