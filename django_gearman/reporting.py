"""Progress reporting from inside a job, in plain-function style.

A job function stays a plain function: it calls ``progress(3, 10)`` (or ``current_job().status``)
and the runtime routes that to Gearman (WORK_STATUS/WORK_DATA/WORK_WARNING) on a worker, to the
caller's callbacks in eager mode, and nowhere when the function is simply called.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class JobContext:
    """What a running job can do besides returning: report status, partial data, warnings.

    ``cancel_probe`` answers ``cancel_requested`` (set for stored jobs; see ``cancel``).
    ``events`` records every report (``("status", (n, d))`` ...) so that eager runs and tests can
    see them; a worker keeps only the last few hundred to stay bounded.
    """

    name: str
    handle: str
    eager: bool = False
    send_status: Callable[[int, int], None] | None = None
    send_data: Callable[[Any], None] | None = None
    send_warning: Callable[[str], None] | None = None
    cancel_probe: Callable[[], bool] | None = None
    events: list[tuple[str, Any]] = field(default_factory=list)
    max_events: int = 256

    @property
    def cancel_requested(self) -> bool:
        """Whether someone asked this stored job to stop (``cancel(id)`` while it runs). Each
        read asks the database (one primary-key read), so check it every few seconds, not in a
        tight loop; always ``False`` for a job that is not stored."""
        return self.cancel_probe is not None and self.cancel_probe()

    def _record(self, kind: str, value: Any) -> None:
        if len(self.events) < self.max_events:
            self.events.append((kind, value))

    def status(self, numerator: int, denominator: int) -> None:
        """Report that ``numerator`` of ``denominator`` steps are done (WORK_STATUS)."""
        if isinstance(numerator, bool) or isinstance(denominator, bool):
            raise TypeError("status(numerator, denominator) takes whole numbers, not booleans")
        numerator, denominator = int(numerator), int(denominator)
        if numerator < 0 or denominator < 0:
            raise ValueError(f"status must be non-negative: {numerator}/{denominator}")
        self._record("status", (numerator, denominator))
        if self.send_status is not None:
            self.send_status(numerator, denominator)

    def data(self, value: Any) -> None:
        """Send a partial result (WORK_DATA), encoded like the job's result."""
        self._record("data", value)
        if self.send_data is not None:
            self.send_data(value)

    def warning(self, message: str) -> None:
        """Send a human-readable warning (WORK_WARNING, UTF-8 text)."""
        text = str(message)
        self._record("warning", text)
        if self.send_warning is not None:
            self.send_warning(text)


_current: ContextVar[JobContext | None] = ContextVar("django_gearman_current_job", default=None)
_DETACHED = JobContext(name="", handle="", max_events=0)


def current_job() -> JobContext:
    """The running job's context; outside a job, a detached one whose reports go nowhere."""
    return _current.get() or _DETACHED


def enter_job(context: JobContext) -> Token[JobContext | None]:
    """Make ``context`` the current job; pass the token to ``leave_job`` when it ends."""
    return _current.set(context)


def leave_job(token: Token[JobContext | None]) -> None:
    _current.reset(token)


def progress(numerator: int, denominator: int) -> None:
    """Shortcut for ``current_job().status(numerator, denominator)``."""
    current_job().status(numerator, denominator)
