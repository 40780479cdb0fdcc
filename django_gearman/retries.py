"""Retries of stored jobs: ``retries=N``, ``retry_on``, ``raise Retry(after=...)``, and the backoff.

A retry never lives in a worker's memory: the worker puts the record back to READY with
``run_after`` set and ``released_at`` cleared, and the scheduler hands it to gearmand when it is
due, so a retry survives the death of the worker that decided it. This module only decides
*whether* and *when*; ``store`` writes the decision.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .exceptions import ConfigurationError

DEFAULT_BASE_DELAY = 1.0  # seconds before the first retry (before jitter)
DEFAULT_MAX_DELAY = 600.0  # no retry waits longer than this (before jitter)
MAX_RETRIES = 1000  # a bound on a decorator option, so a typo cannot retry forever


class Retry(Exception):
    """Raise inside a stored job to run it again later.

    ``after`` is seconds, a ``timedelta`` or an aware ``datetime``; ``None`` uses the job's
    backoff. A retry counts as an attempt: when the job's ``retries`` are used up, the record is
    FAILED with this exception as its error.
    """

    def __init__(self, after: float | timedelta | datetime | None = None, reason: str = "") -> None:
        if isinstance(after, datetime) and after.tzinfo is None:
            raise ConfigurationError("Retry(after=...) needs an aware datetime (USE_TZ)")
        valid = after is None or (
            not isinstance(after, bool) and isinstance(after, int | float | timedelta | datetime)
        )
        if not valid:
            raise ConfigurationError(
                f"Retry(after=...) takes seconds, a timedelta or an aware datetime, not "
                f"{type(after).__name__}"
            )
        super().__init__(reason or "retry requested by the job")
        self.after = after
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a job retries: ``retries`` more attempts after the first, for exceptions in
    ``retry_on``, after an exponential backoff with full jitter (between half the delay and the
    whole delay, so that jobs failing together do not come back together)."""

    retries: int = 0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY

    def __post_init__(self) -> None:
        retries = self.retries
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise ConfigurationError(f"retries must be a whole number, not {retries!r}")
        if not 0 <= retries <= MAX_RETRIES:
            raise ConfigurationError(f"retries must be between 0 and {MAX_RETRIES}: {retries}")
        if not isinstance(self.retry_on, tuple) or not all(
            isinstance(kind, type) and issubclass(kind, BaseException) for kind in self.retry_on
        ):
            raise ConfigurationError(
                f"retry_on must be a tuple of exception classes, not {self.retry_on!r}"
            )
        if not 0 < self.base_delay <= self.max_delay:
            raise ConfigurationError("retry delays must satisfy 0 < base_delay <= max_delay")

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(max(attempt, 1) - 1, 62))
        return ceiling * (0.5 + 0.5 * (rng or random).random())

    def delay_after(
        self, exc: BaseException, attempt: int, max_attempts: int, now: datetime
    ) -> timedelta | None:
        """When the next attempt may start after ``exc`` ended attempt ``attempt``; ``None``
        when the job must not be retried (no attempts left, or an exception not in retry_on)."""
        if attempt >= max_attempts:
            return None
        if isinstance(exc, Retry):
            requested = _requested_delay(exc.after, now)
            return requested if requested is not None else timedelta(seconds=self.backoff(attempt))
        if not isinstance(exc, self.retry_on):
            return None
        return timedelta(seconds=self.backoff(attempt))


def _requested_delay(after: float | timedelta | datetime | None, now: datetime) -> timedelta | None:
    if after is None:
        return None
    if isinstance(after, datetime):
        return max(after - now, timedelta(0))
    if isinstance(after, timedelta):
        return max(after, timedelta(0))
    return timedelta(seconds=max(float(after), 0.0))


NO_RETRIES = RetryPolicy()
