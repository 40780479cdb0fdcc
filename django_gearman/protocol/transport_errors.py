"""Typed errors of the transport: every failure a caller can see is a ``GearmanError``."""

from __future__ import annotations


class GearmanError(Exception):
    """Base of every error raised by ``django_gearman.protocol``."""


class ProtocolError(GearmanError):
    """The peer sent bytes that are not valid Gearman (bad magic, size, type or arguments)."""


class ServerError(GearmanError):
    """gearmand answered with an ERROR packet (or an admin ``ERR`` line)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"gearmand error {code}: {text}")
        self.code = code
        self.text = text


class ConnectionLost(GearmanError):
    """A connection closed or failed; internal signal that front ends translate."""


class NoServerAvailable(GearmanError):
    """No configured server accepted a connection within the retry budget."""


class JobTimeout(GearmanError, TimeoutError):
    """A wait ran out of time. For a foreground job, the job may still run on a worker."""


class OutcomeUnknown(GearmanError):
    """The server died while the job was in flight: it may or may not have run.

    The job is never silently re-submitted: the caller decides whether running it twice is safe.
    """


class InvalidServerAddress(GearmanError, ValueError):
    """A server address string is not ``host``, ``host:port`` or ``[v6addr]:port``."""


class WorkException(Exception):
    """Raised by a worker callback to end the job with WORK_EXCEPTION carrying ``data``."""

    def __init__(self, data: bytes | str = b"") -> None:
        payload = data.encode() if isinstance(data, str) else bytes(data)
        super().__init__(payload)
        self.data = payload
