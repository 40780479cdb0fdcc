"""Typed errors of the Django layer.

Every failure a caller of ``GearmanClient``/``@gearman_job`` can see is a ``GearmanJobError``, so
application code can catch one base class. Errors of the layers below (``serializers`` and
``django_gearman.protocol``) pass through unchanged: they are already typed and more specific.
"""

from __future__ import annotations

from typing import Any


class GearmanJobError(Exception):
    """Base class of every error raised by the Django integration."""


class ConfigurationError(GearmanJobError, ValueError):
    """A GEARMAN_* setting or a decorator option is malformed."""


class JobNotFound(GearmanJobError, LookupError):
    """No job is registered under this name (and the call needs a local definition)."""


class DuplicateJobName(GearmanJobError):
    """Two different functions claimed one job name; the second one is not registered.

    Raised at import time of the second ``gearman_jobs`` module, so Django does not start: a
    worker would otherwise serve whichever function was imported last, and callers of the other
    would silently get its results.
    """

    def __init__(self, job_name: str, registered: str, claimant: str) -> None:
        super().__init__(
            f"job name {job_name!r} is already registered to {registered}; {claimant} claims it "
            f"too. Give one of them another name with @gearman_job(name=...)"
        )
        self.job_name = job_name
        self.registered = registered
        self.claimant = claimant


class ReservedKeywordConflict(GearmanJobError, TypeError):
    """A reserved submit_job keyword was passed bare, but the job has a parameter of that name.

    The bare keyword would be swallowed by ``submit_job`` and never reach the job, so nothing is
    sent; the message shows the unambiguous call with ``kwargs={...}``.
    """

    def __init__(self, job_name: str, names: list[str], safe_call: str) -> None:
        joined = ", ".join(repr(n) for n in names)
        super().__init__(
            f"job {job_name!r} has parameter(s) {joined} whose name is a reserved submit_job "
            f"keyword; the bare keyword would be taken as a Gearman option and never reach the "
            f"job. Pass job arguments explicitly instead: {safe_call}"
        )
        self.job_name = job_name
        self.names = names
        self.safe_call = safe_call


class JobFailed(GearmanJobError):
    """The job raised on the worker; the remote type, message and traceback text are kept.

    ``remote_type`` is the dotted name of the exception class on the worker (a worker in another
    language may send any name); ``remote_traceback`` is text for humans, never re-executed.
    """

    def __init__(
        self,
        job_name: str,
        remote_type: str,
        remote_message: str,
        remote_traceback: str = "",
        *,
        details: Any = None,
    ) -> None:
        super().__init__(f"job {job_name!r} failed on the worker: {remote_type}: {remote_message}")
        self.job_name = job_name
        self.remote_type = remote_type
        self.remote_message = remote_message
        self.remote_traceback = remote_traceback
        self.details = details


class JobLost(GearmanJobError):
    """The worker ended the job with WORK_FAIL (it crashed or the job has no error details)."""

    def __init__(self, job_name: str, reason: str) -> None:
        super().__init__(f"job {job_name!r} did not complete: {reason}")
        self.job_name = job_name
        self.reason = reason


class NotNegotiable(GearmanJobError):
    """Worker and caller share no content type for the result (raised on the worker side)."""


class JobRefused(JobFailed):
    """The worker refused the payload before running the job (signature, content type,
    arguments); ``details`` lists validation problems when there are some."""


class JobSkipped(GearmanJobError):
    """The worker did not run a stored job: its record is cancelled, finished, held for later
    or being run by another worker (a duplicate delivery). Nothing was executed."""
