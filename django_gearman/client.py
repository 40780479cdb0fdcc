"""``GearmanClient``: submit jobs by name with every call form of django-gearman 0.2.

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

import asyncio
import hashlib
import itertools
import os
import secrets
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from serializers import SerializerError

from .conf import GearmanSettings, get_settings, on_settings_reset
from .errors import ConfigurationError, GearmanJobError, JobLost, ReservedKeywordConflict
from .jobs import PRIORITIES, GearmanJob, SubmitOptions, registry
from .protocol import AsyncClient, Client, GearmanError, JobRequest, Priority
from .runtime import JobSpec, job_spec, parameter_names, remote_spec, run_eagerly

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

ProgressCallback: TypeAlias = Callable[[int, int], object]


class _Unset:
    """Marks a keyword the caller did not pass (``None`` is a valid job argument)."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class Task:
    """A job call for ``do_task``/``do_tasks`` (the 0.2 API), with the same forms as submit_job."""

    name: str
    data: Any = UNSET
    args: Sequence[Any] | None = None
    kwargs: Mapping[str, Any] | None = None
    unique: str | bool | None = None
    priority: str = "normal"
    background: bool = False
    timeout: float | None = None
    serializer: str | None = None


def _call_body(
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


def _check_reserved(
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


_PRIORITY = {"high": Priority.HIGH, "normal": Priority.NORMAL, "low": Priority.LOW}


def _priority(value: Any) -> str:
    if isinstance(value, Priority):
        return value.name.lower()
    if value is None or value is UNSET:
        return "normal"
    if value not in PRIORITIES:
        raise ConfigurationError(f"priority must be one of {PRIORITIES}, not {value!r}")
    return str(value)


class GearmanClient:
    """Submits jobs; one per process is enough (``default_client()``), it is thread-safe.

    ``servers`` defaults to GEARMAN_SERVERS, ``serializer`` to GEARMAN_DEFAULT_SERIALIZER (used for
    jobs that are only known by name), ``eager`` to GEARMAN_EAGER and ``timeout`` (seconds a
    foreground job may take) to GEARMAN_TIMEOUT.
    """

    def __init__(
        self,
        servers: str | Sequence[str] | None = None,
        *,
        serializer: str | None = None,
        eager: bool | None = None,
        timeout: float | None = None,
    ) -> None:
        self._servers = servers
        self.serializer = serializer
        self.eager = eager
        self.timeout = timeout
        self._transport: Client | None = None
        self._async_transports: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncClient
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    # -- transport -------------------------------------------------------------------------

    @property
    def transport(self) -> Client:
        """The protocol client, created on first use (so constructing never connects)."""
        transport = self._transport
        if transport is not None:
            return transport
        with self._lock:
            if self._transport is None:
                current = get_settings()
                self._transport = Client(
                    self._server_list(current),
                    connect_timeout=current.connect_timeout,
                    default_timeout=current.timeout,
                )
            return self._transport

    def _server_list(self, current: GearmanSettings) -> list[str]:
        servers = list(current.servers) if self._servers is None else self._servers
        if not servers:
            raise ConfigurationError("GEARMAN_SERVERS lists no server to submit to")
        return [servers] if isinstance(servers, str) else list(servers)

    def close(self) -> None:
        """Close the pooled connections (a later submit reconnects)."""
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def __enter__(self) -> GearmanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the 0.2 API -----------------------------------------------------------------------

    def submit_job(
        self,
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
        call_args, call_kwargs = _call_body(name, value, args, kwargs, job_kwargs)
        _check_reserved(job, passed, call_args, call_kwargs)
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
        spec = self._spec(name, job, None)
        return self._run(spec, call_args, call_kwargs, options, retries)

    def do_task(self, task: Task) -> Any:
        """Run a ``Task`` and return its result (its handle when ``task.background``)."""
        spec, call_args, call_kwargs, options = self._prepare_task(task)
        return self._run(spec, call_args, call_kwargs, options, 0)

    def do_tasks(
        self,
        tasks: Iterable[Task],
        *,
        timeout: float | None = None,
        return_exceptions: bool = False,
    ) -> list[Any]:
        """Run many tasks at once, pipelined to the servers; results come back in task order.

        Every call is validated and encoded before anything is sent. A failed task raises its
        error (``JobFailed``, ``JobTimeout``, ...) unless ``return_exceptions``, which puts the
        exception in its place in the list instead.
        """
        prepared = []
        for task in tasks:
            spec, call_args, call_kwargs, options = self._prepare_task(task)
            prepared.append((spec, spec.encode_call(call_args, call_kwargs), options))
        if self.eager if self.eager is not None else get_settings().eager:
            outcomes = [
                _settled(run_eagerly, spec, payload, options) for spec, payload, options in prepared
            ]
        else:
            requests = [
                JobRequest(
                    spec.wire_name,
                    payload,
                    _unique_key(options, spec.wire_name, payload),
                    _PRIORITY[options.priority],
                    options.background,
                )
                for spec, payload, options in prepared
            ]
            results = self.transport.submit_many(requests, timeout=timeout or self.timeout)
            outcomes = [
                _settled(self._outcome, spec, result, options)
                for (spec, _, options), result in zip(prepared, results, strict=True)
            ]
        if not return_exceptions:
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        return outcomes

    def _prepare_task(self, task: Task) -> tuple[JobSpec, list[Any], dict[str, Any], SubmitOptions]:
        call_args, call_kwargs = _call_body(task.name, task.data, task.args, task.kwargs, {})
        options = SubmitOptions(
            priority=_priority(task.priority),
            unique=task.unique,
            background=task.background,
            timeout=task.timeout,
        )
        spec = self._spec(task.name, registry.find(task.name), task.serializer)
        return spec, call_args, call_kwargs, options

    def dispatch_background_task(self, name: str, data: Any = UNSET) -> str:
        """Queue job ``name`` with one argument (``None`` is an argument) and return its handle."""
        handle: str = self.do_task(Task(name, data, background=True))
        return handle

    # -- typed API (used by GearmanJob.submit/dispatch) -------------------------------------

    def run_job(
        self,
        job: GearmanJob[Any, Any],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        options: SubmitOptions,
    ) -> Any:
        """Submit a locally defined job with already separated arguments."""
        return self._run(self._spec(job.name, job, None), args, kwargs, options, 0)

    # -- internals -------------------------------------------------------------------------

    def _spec(self, name: str, job: GearmanJob[Any, Any] | None, serializer: str | None) -> JobSpec:
        if job is not None:
            return job_spec(job, serializer)
        return remote_spec(name, serializer or self.serializer)

    def _run(
        self,
        spec: JobSpec,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        options: SubmitOptions,
        retries: int,
    ) -> Any:
        payload = spec.encode_call(args, kwargs)
        if self._eager(spec, options):
            return run_eagerly(spec, payload, options)
        unique = _unique_key(options, spec.wire_name, payload)
        arguments = self._submit_arguments(spec, unique, options)
        for attempt in range(retries + 1):
            result = self.transport.submit(spec.wire_name, payload, **arguments)
            if result.state != "failed" or attempt == retries:
                break
        return self._outcome(spec, result, options)

    async def arun_job(
        self,
        job: GearmanJob[Any, Any],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        options: SubmitOptions,
    ) -> Any:
        """``run_job`` for asyncio code: the same checks, an ``AsyncClient`` for the I/O."""
        spec = self._spec(job.name, job, None)
        payload = spec.encode_call(args, kwargs)
        if self._eager(spec, options):
            return run_eagerly(spec, payload, options)
        unique = _unique_key(options, spec.wire_name, payload)
        arguments = self._submit_arguments(spec, unique, options)
        result = await self._async_transport().submit(spec.wire_name, payload, **arguments)
        return self._outcome(spec, result, options)

    def _async_transport(self) -> AsyncClient:
        """One ``AsyncClient`` per event loop (its connections belong to that loop)."""
        loop = asyncio.get_running_loop()
        transport = self._async_transports.get(loop)  # the lock is for creating one
        if transport is not None:
            return transport
        with self._lock:
            transport = self._async_transports.get(loop)
            if transport is None:
                current = get_settings()
                transport = AsyncClient(
                    self._server_list(current),
                    connect_timeout=current.connect_timeout,
                    default_timeout=current.timeout,
                )
                self._async_transports[loop] = transport
            return transport

    async def aclose(self) -> None:
        """Close the asyncio connections of the running loop (and the sync ones)."""
        with self._lock:
            transport = self._async_transports.pop(asyncio.get_running_loop(), None)
        if transport is not None:
            await transport.close()
        self.close()

    def _eager(self, spec: JobSpec, options: SubmitOptions) -> bool:
        eager = options.eager if options.eager is not None else self.eager
        return eager if eager is not None else spec.eager

    def _submit_arguments(
        self, spec: JobSpec, unique: str | None, options: SubmitOptions
    ) -> dict[str, Any]:
        """The transport's submit keywords, shared by the sync and asyncio paths."""
        return {
            "unique": unique,
            "priority": _PRIORITY[options.priority],
            "background": options.background,
            "timeout": options.timeout or self.timeout or spec.timeout,
            "on_status": options.on_status,
            "on_data": spec.data_callback(options.on_data) if options.on_data else None,
            "on_warning": _warning_callback(options.on_warning) if options.on_warning else None,
        }

    def _outcome(self, spec: JobSpec, result: Any, options: SubmitOptions) -> Any:
        if result.error is not None:  # submit_many reports transport failures per job
            raise result.error
        if result.state == "queued":
            return result.handle.decode("ascii", "replace") if result.handle else ""
        if result.state == "complete":
            return spec.decode_result(result.result)
        if result.state == "exception":
            raise spec.decode_failure(result.exception or b"")
        raise JobLost(spec.name, "the worker reported WORK_FAIL (it crashed or gave up)")


def _settled(function: Callable[..., Any], *args: Any) -> Any:
    """The function's result, or the exception it raised (for ``return_exceptions``)."""
    try:
        return function(*args)
    except (GearmanJobError, GearmanError, SerializerError) as exc:
        return exc


MAX_UNIQUE_BYTES = 63  # gearmand 1.1.20 keeps 63 bytes of a unique id (64 with its NUL)

_unique_prefix = ""
_unique_counter = itertools.count(1)


def _new_unique_prefix() -> None:
    """Draw this process's random id prefix (128 bits) and restart its counter: at import, and
    in every forked child, which would otherwise repeat its parent's ids."""
    global _unique_prefix, _unique_counter
    _unique_counter = itertools.count(1)
    _unique_prefix = secrets.token_hex(16) + "-"


_new_unique_prefix()
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_unique_prefix)


def _random_unique() -> str:
    """An id no other job gets: the process's random prefix plus a counter (``next`` on an
    ``itertools.count`` is atomic, so threads never share a number). 33 characters plus the
    counter's digits (20 at most for 2**64 jobs): within gearmand's 63 bytes."""
    return _unique_prefix + str(next(_unique_counter))


def _unique_key(options: SubmitOptions, wire_name: str, payload: bytes) -> str | None:
    """The unique id sent to gearmand.

    ``True`` derives it from the function name and the encoded call, so equal calls coalesce (a
    192-bit digest: short enough for gearmand). Without one, a background job still gets an id of
    its own (``_random_unique``): gearmand's persistent queues key their rows by (unique,
    function), so two background jobs with an empty id would overwrite each other in the queue
    store.
    """
    unique = options.unique
    if unique is None or unique is False:
        return _random_unique() if options.background else None
    if unique is True:
        return hashlib.blake2b(wire_name.encode() + b"\n" + payload, digest_size=24).hexdigest()
    if not isinstance(unique, str):
        raise TypeError(f"unique must be a string or True, not {type(unique).__name__}")
    size = len(unique.encode())
    if not 0 < size <= MAX_UNIQUE_BYTES or "\0" in unique:
        raise ValueError(
            f"unique must be 1 to {MAX_UNIQUE_BYTES} bytes without NUL (gearmand truncates longer "
            f"ids), not {size} bytes"
        )
    return unique


def _warning_callback(callback: Callable[[str], object]) -> Callable[[bytes], None]:
    def on_warning(raw: bytes) -> None:
        callback(raw.decode("utf-8", "replace"))

    return on_warning


_default_client: GearmanClient | None = None
_default_lock = threading.Lock()


def default_client() -> GearmanClient:
    """The process-wide client used by ``job.submit()``; rebuilt when settings change."""
    global _default_client
    client = _default_client  # read without the lock: it is only ever set whole
    if client is not None:
        return client
    with _default_lock:
        if _default_client is None:
            _default_client = GearmanClient()
        return _default_client


def _drop_default_client() -> None:
    global _default_client
    with _default_lock:
        client, _default_client = _default_client, None
    if client is not None:
        client.close()


on_settings_reset(_drop_default_client)

__all__ = ["RESERVED_KEYWORDS", "UNSET", "GearmanClient", "Task", "default_client"]
