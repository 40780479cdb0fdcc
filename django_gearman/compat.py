"""The django-gearman 0.2 surface: ``Task``, ``submit_job``'s call forms, ``do_task(s)``,
``dispatch_background_task`` and ``RESERVED_KEYWORDS``, mixed into ``GearmanClient``.

Call forms (all of them end up as one call body ``{"args": [...], "kwargs": {...}}``)::

    client.submit_job("app.job", {"a": 1})            # one payload: the job gets one argument
    client.submit_job("app.job", one=1, two=2)         # job keywords
    client.submit_job("app.job", args=[1, 2, 3])       # positional arguments
    client.submit_job("app.job", kwargs={"background": True, "unique": False})

The names in ``RESERVED_KEYWORDS`` are Gearman options of ``submit_job``. If one is passed bare
while the job (known locally) has a parameter of that name, ``ReservedKeywordConflict`` is raised
before anything is sent: the value would otherwise never reach the job.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .declaration import PRIORITIES, GearmanJob, SubmitOptions, registry
from .exceptions import ConfigurationError, ReservedKeywordConflict
from .protocol import Priority

if TYPE_CHECKING:
    from .client import PreparedCall

RESERVED_KEYWORDS = frozenset(
    {
        "data",
        "unique",
        "priority",
        "background",
        "wait_until_complete",
        "max_retries",
        "poll_timeout",
    }
)


class _Unset:
    """Marks a keyword the caller did not pass (``None`` is a valid job argument)."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class Task:
    """A job call for ``do_task``/``do_tasks`` (the 0.2 API), with the same forms as submit_job.

    ``timeout`` is how long to wait for this task's result (default: the batch's, then the
    client's).
    """

    name: str
    data: Any = UNSET
    args: Sequence[Any] | None = None
    kwargs: Mapping[str, Any] | None = None
    unique: str | bool | None = None
    priority: str = "normal"
    background: bool = False
    timeout: float | None = None
    serializer: str | None = None


class _Client(Protocol):
    """What the 0.2 methods need of the client they are mixed into."""

    def prepare(
        self,
        name: str,
        job: GearmanJob[Any, Any] | None,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        options: SubmitOptions,
        serializer: str | None = None,
    ) -> PreparedCall: ...

    def run_prepared(self, call: PreparedCall, retries: int = 0) -> Any: ...

    def run_batch(self, calls: Sequence[PreparedCall]) -> list[Any]: ...


class LegacyCalls:
    """The 0.2 methods of ``GearmanClient``; they prepare and send through the typed client."""

    def submit_job(
        self: _Client,
        name: str,
        *payload: Any,
        data: Any = UNSET,
        unique: Any = UNSET,
        priority: Any = UNSET,
        background: Any = UNSET,
        wait_until_complete: Any = UNSET,
        max_retries: Any = UNSET,
        poll_timeout: Any = UNSET,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **job_kwargs: Any,
    ) -> Any:
        """Submit job ``name``; returns its result, or its handle for a background job.

        ``wait_until_complete=False`` queues the job in the background. ``max_retries`` re-submits
        a job that ended with WORK_FAIL (a crashed worker); a job whose outcome is unknown is never
        re-submitted. ``poll_timeout`` is how long to wait for a foreground result.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"submit_job: the job name must be a non-empty string, not {name!r}")
        if len(payload) > 1:
            raise TypeError(
                f"submit_job({name!r}) takes one positional payload; for several arguments use "
                f"args=[...] or keywords"
            )
        if payload and data is not UNSET:
            raise TypeError(f"submit_job({name!r}): payload given both positionally and as data=")
        value = payload[0] if payload else data
        passed = {
            key: given
            for key, given in {
                "data": data,
                "unique": unique,
                "priority": priority,
                "background": background,
                "wait_until_complete": wait_until_complete,
                "max_retries": max_retries,
                "poll_timeout": poll_timeout,
            }.items()
            if given is not UNSET
        }
        job = registry.find(name)
        call_args, call_kwargs = call_body(name, value, args, kwargs, job_kwargs)
        check_reserved(job, passed, call_args, call_kwargs)
        run_in_background = bool(background is not UNSET and background) or (
            wait_until_complete is not UNSET and not wait_until_complete
        )
        options = SubmitOptions(
            priority=_priority(priority),
            unique=None if unique is UNSET else unique,
            background=run_in_background,
            timeout=None if poll_timeout is UNSET else poll_timeout,
        )
        retries = 0 if max_retries is UNSET or max_retries is None else int(max_retries)
        if retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {max_retries!r}")
        call = self.prepare(name, job, call_args, call_kwargs, options)
        return self.run_prepared(call, retries)

    def do_task(self: _Client, task: Task) -> Any:
        """Run a ``Task`` and return its result (its handle when ``task.background``)."""
        return self.run_prepared(_prepare_task(self, task, None))

    def do_tasks(
        self: _Client,
        tasks: Iterable[Task],
        *,
        timeout: float | None = None,
        return_exceptions: bool = False,
    ) -> list[Any]:
        """Run many tasks at once, pipelined to the servers; results come back in task order.

        Every call is validated and encoded before anything is sent. Each task waits for its
        result at most its own ``Task.timeout``, else ``timeout``, else the client's. A failed
        task raises its error (``JobFailed``, ``JobTimeout``, ...) unless ``return_exceptions``,
        which puts the exception in its place in the list instead.
        """
        calls = [_prepare_task(self, task, timeout) for task in tasks]
        outcomes = self.run_batch(calls)
        if not return_exceptions:
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        return outcomes

    def dispatch_background_task(self: _Client, name: str, data: Any = UNSET) -> str:
        """Queue job ``name`` with one argument (``None`` is an argument) and return its handle."""
        task = Task(name, data, background=True)
        handle: str = self.run_prepared(_prepare_task(self, task, None))
        return handle


def _prepare_task(client: _Client, task: Task, batch_timeout: float | None) -> PreparedCall:
    call_args, call_kwargs = call_body(task.name, task.data, task.args, task.kwargs, {})
    options = SubmitOptions(
        priority=_priority(task.priority),
        unique=task.unique,
        background=task.background,
        timeout=task.timeout or batch_timeout,
    )
    job = registry.find(task.name)
    return client.prepare(task.name, job, call_args, call_kwargs, options, task.serializer)


def call_body(
    name: str,
    payload: Any,
    args: Sequence[Any] | None,
    kwargs: Mapping[str, Any] | None,
    job_kwargs: Mapping[str, Any],
) -> tuple[list[Any], dict[str, Any]]:
    """Turn any call form into (args, kwargs); ambiguous mixes are TypeErrors."""
    if args is not None and (
        isinstance(args, str | bytes | Mapping) or not isinstance(args, Sequence)
    ):
        raise TypeError(
            f"submit_job({name!r}): args must be a list or tuple, not {type(args).__name__}"
        )
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise TypeError(f"submit_job({name!r}): kwargs must be a dict, not {type(kwargs).__name__}")
    call_kwargs = dict(kwargs or {})
    overlap = sorted(set(call_kwargs) & set(job_kwargs))
    if overlap:
        raise TypeError(f"submit_job({name!r}): {overlap} given both bare and in kwargs={{...}}")
    call_kwargs.update(job_kwargs)
    if payload is not UNSET:
        if args is not None or call_kwargs:
            raise TypeError(
                f"submit_job({name!r}): pass either one payload or args=/kwargs=/job keywords, "
                f"not both"
            )
        return [payload], {}
    for key in call_kwargs:
        if not isinstance(key, str):
            raise TypeError(f"submit_job({name!r}): keyword names must be strings, not {key!r}")
    return list(args or ()), call_kwargs


def check_reserved(
    job: GearmanJob[Any, Any] | None,
    passed: dict[str, Any],
    call_args: list[Any],
    call_kwargs: dict[str, Any],
) -> None:
    """Raise ``ReservedKeywordConflict`` if a bare reserved keyword names a job parameter that
    the call does not otherwise fill (through ``args``, ``kwargs`` or the payload)."""
    if job is None or not passed:
        return
    names, positional = parameter_names(job.func)
    covered = set(call_kwargs) | set(positional[: len(call_args)])
    clashing = [key for key in names if key in passed and key not in covered]
    if not clashing:
        return
    shown = ", ".join(f"{key!r}: {passed[key]!r}" for key in clashing)
    safe_call = f"submit_job({job.name!r}, kwargs={{{shown}}})"
    raise ReservedKeywordConflict(job.name, clashing, safe_call)


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@functools.cache
def parameter_names(func: Callable[..., Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(all parameter names, positional ones in order) of a job function, for the
    reserved-keyword check."""
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return (), ()
    names = tuple(p.name for p in parameters)
    return names, tuple(p.name for p in parameters if p.kind in _POSITIONAL)


def _priority(value: Any) -> str:
    """A 0.2 priority (a name, a transport ``Priority`` or nothing) as the typed API's name."""
    if isinstance(value, Priority):
        return value.name.lower()
    if value is None or value is UNSET:
        return "normal"
    if value not in PRIORITIES:
        raise ConfigurationError(f"priority must be one of {PRIORITIES}, not {value!r}")
    return str(value)


__all__ = ["RESERVED_KEYWORDS", "UNSET", "LegacyCalls", "Task"]
