"""Typed errors of the Django layer.

Every failure a caller of ``GearmanClient``/``@gearman_job`` can see is a ``GearmanJobError``, so
application code can catch one base class. The layers below (``serializers`` and
``django_gearman.protocol``) know nothing of Django, so the client re-raises their errors as
``LayerError`` twins (``as_job_error``): each is still an instance of its own class
(``serializers.SignatureMissing``, ``protocol.JobTimeout``, ...), with the same message and
attributes, and also a ``GearmanJobError``. Existing ``except`` clauses keep working.
"""

from __future__ import annotations

import threading
from typing import Any, NoReturn, cast

from serializers import SerializerError

from .protocol import GearmanError


class GearmanJobError(Exception):
    """Base class of every error raised by the Django integration."""


class LayerError(GearmanJobError):
    """An error of the payload or transport layer as a submit raises it (see ``as_job_error``).

    Pickles as its twin again, so it survives e.g. a test runner's worker processes.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self).__bases__[1], self.args, dict(vars(self))))


_twins: dict[type[Exception], type[LayerError]] = {}
_twins_lock = threading.Lock()


def _twin(base: type[Exception]) -> type[LayerError]:
    """The one class that is both ``base`` and a ``GearmanJobError``; named as ``base`` is, so
    a traceback shows the type users know (``serializers.errors.SignatureMissing``).
    ``LayerError`` comes first so that its ``__reduce__`` wins over e.g. ``OSError``'s (the
    base of ``JobTimeout``); it adds nothing else, so ``base`` keeps its behaviour."""
    with _twins_lock:
        twin = _twins.get(base)
        if twin is None:
            namespace = {
                "__module__": base.__module__,
                "__qualname__": base.__qualname__,
                "__doc__": base.__doc__,
            }
            twin = _twins[base] = cast(
                type[LayerError], type(base.__name__, (LayerError, base), namespace)
            )
        return twin


def _rebuild(base: type[Exception], args: tuple[Any, ...], attributes: dict[str, Any]) -> Exception:
    twin = _twin(base)
    error = twin.__new__(twin)
    error.args = args
    vars(error).update(attributes)
    return error


def as_job_error(exc: Exception) -> Exception:
    """``exc`` as a ``GearmanJobError``: itself if it is one (or not an error of a layer below,
    e.g. a bug), else its ``LayerError`` twin with the same message, attributes and cause."""
    if isinstance(exc, GearmanJobError) or not isinstance(exc, SerializerError | GearmanError):
        return exc
    twin = _rebuild(type(exc), exc.args, dict(vars(exc)))
    twin.__cause__ = exc.__cause__
    twin.__suppress_context__ = exc.__suppress_context__
    return twin.with_traceback(exc.__traceback__)


#: The errors of the payload and transport layers, which a submit re-raises as their twins.
LAYER_ERRORS = (SerializerError, GearmanError)


def raise_job_error(exc: SerializerError | GearmanError) -> NoReturn:
    """Re-raise an error of a layer below as its ``GearmanJobError`` twin (``except
    LAYER_ERRORS as exc: raise_job_error(exc)``: a ``try`` costs nothing until it raises)."""
    twin = as_job_error(exc)
    if twin is exc:
        raise exc
    raise twin from exc.__cause__


class ConfigurationError(GearmanJobError, ValueError):
    """A GEARMAN_* setting or a decorator option is malformed."""


class JobNotFound(GearmanJobError, LookupError):
    """No job is registered under this name (and the call needs a local definition).

    Raised by a submit by name before anything is sent when the name is neither a job of this
    project nor declared remote: a typo would otherwise wait out its timeout (or, dispatched,
    stay queued forever with no worker for it). ``suggestions`` are the closest local names.
    """

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class InvalidCall(GearmanJobError, TypeError):
    """A submit's arguments do not fit any call form (e.g. several positional payloads);
    nothing is sent. The message shows the form to use."""


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
    language may send any name); ``remote_traceback`` is text for humans, never re-executed, and
    empty unless the worker's project sets GEARMAN_SEND_TRACEBACKS (its log has the traceback).
    ``details`` lists validation problems (at most ``MAX_ERROR_DETAILS``), ``details_omitted``
    counts those the worker left out to keep the error small.
    """

    def __init__(
        self,
        job_name: str,
        remote_type: str,
        remote_message: str,
        remote_traceback: str = "",
        *,
        details: Any = None,
        details_omitted: int = 0,
    ) -> None:
        super().__init__(f"job {job_name!r} failed on the worker: {remote_type}: {remote_message}")
        self.job_name = job_name
        self.remote_type = remote_type
        self.remote_message = remote_message
        self.remote_traceback = remote_traceback
        self.details = details
        self.details_omitted = details_omitted


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
