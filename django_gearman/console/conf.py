"""Console settings, read and validated on every use (they are cheap and tests override them).

``GEARMAN_METRICS_TOKEN``: a secret that lets a scraper read ``/gearman/metrics`` without a staff
login (``Authorization: Bearer TOKEN``); ``None`` means staff login only.
``GEARMAN_CONSOLE_TIMEOUT``: seconds the status page waits for each server's admin answers.
``GEARMAN_CONSOLE_REFRESH``: seconds between in-place refreshes of the status page (0: never).
``GEARMAN_CONSOLE_WINDOW``: minutes of history for throughput and failure rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

MIN_TOKEN_LENGTH = 16
MAX_WINDOW_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    metrics_token: str | None = field(repr=False)
    timeout: float
    refresh_seconds: int
    window_minutes: int


def _positive(name: str, default: float, *, whole: bool, upper: float | None = None) -> Any:
    from django_gearman import ConfigurationError

    value = getattr(settings, name, default)
    wrong = isinstance(value, bool) or not isinstance(value, int if whole else (int, float))
    if wrong or value < 0 or (upper is not None and value > upper):
        limit = f" and at most {upper:g}" if upper is not None else ""
        raise ConfigurationError(f"{name} must be a number >= 0{limit}, not {value!r}")
    return value


def console_settings() -> ConsoleSettings:
    """The validated console settings; a malformed one raises ``ConfigurationError``."""
    from django_gearman import ConfigurationError

    token = getattr(settings, "GEARMAN_METRICS_TOKEN", None)
    if token is not None and (not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH):
        raise ConfigurationError(
            f"GEARMAN_METRICS_TOKEN must be a string of {MIN_TOKEN_LENGTH} characters or more"
        )
    timeout = float(_positive("GEARMAN_CONSOLE_TIMEOUT", 2.0, whole=False, upper=60))
    if timeout == 0:
        raise ConfigurationError("GEARMAN_CONSOLE_TIMEOUT must be more than 0 seconds")
    window = _positive("GEARMAN_CONSOLE_WINDOW", 15, whole=True, upper=MAX_WINDOW_MINUTES)
    if window == 0:
        raise ConfigurationError("GEARMAN_CONSOLE_WINDOW must be at least 1 minute")
    return ConsoleSettings(
        metrics_token=token,
        timeout=timeout,
        refresh_seconds=_positive("GEARMAN_CONSOLE_REFRESH", 5, whole=True, upper=3600),
        window_minutes=window,
    )
