"""``@gearman_job``: the decorator, the job object it returns, its submit options and the registry.

A job is a frozen dataclass around a plain function (as in ``django.tasks``): calling it runs the
function here and now; ``submit``/``dispatch`` send it to a worker; ``using(...)`` returns a copy
with Gearman options (priority, unique, background, timeout, ...). Those options live on the copy,
never in the call's arguments, so they can never collide with the job's own parameters.

This module is a leaf of the Django layer: it imports neither the client nor the call codec, so
declaring a job loads nothing else. The one way back is ``_client``, a deferred lookup of the
process-wide client when a job is submitted (as ``django.tasks.Task.get_backend`` does).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    ParamSpec,
    Self,
    TypeAlias,
    TypeVar,
    overload,
)

from .conf import get_settings
from .exceptions import ConfigurationError, DuplicateJobName, JobNotFound
from .retries import DEFAULT_BASE_DELAY, NO_RETRIES, RetryPolicy
from .schedules import Schedule, check_deferral, parse_schedule

if TYPE_CHECKING:
    from .client import GearmanClient
    from .results import StoredResult

P = ParamSpec("P")
T = TypeVar("T")

ProgressCallback: TypeAlias = Callable[[int, int], object]

PRIORITIES = ("high", "normal", "low")
_JOB_NAME = re.compile(r"^[!-~]+$")  # printable ASCII, no spaces: safe in every peer


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """Per-call Gearman options; ``None`` means "the default from settings or the job".

    ``timeout`` is how long the client waits for a foreground result (not the job's
    ``worker_timeout``, which gearmand enforces on the worker).
    """

    priority: str = "normal"
    unique: str | bool | None = None
    background: bool = False
    timeout: float | None = None
    eager: bool | None = None
    on_status: ProgressCallback | None = None
    on_data: Callable[[Any], None] | None = None
    on_warning: Callable[[str], None] | None = None
    client: GearmanClient | None = None
    on_commit: bool = False
    run_after: datetime | None = None
    countdown: float | None = None

    @property
    def deferred(self) -> bool:
        """Whether the call waits in the store for the scheduler (``run_after``/``countdown``)."""
        return self.run_after is not None or self.countdown is not None


@dataclass(frozen=True, slots=True)
class GearmanJob(Generic[P, T]):
    """A registered job. Call it to run the function locally; ``submit`` to run it on a worker.

    ``worker_timeout`` is gearmand's CAN_DO_TIMEOUT for this job (whole seconds), sent when a
    worker registers the job; the client's wait is ``using(timeout=...)``.
    """

    func: Callable[P, T]
    name: str
    queue: str | None = None
    serializer: str | None = None
    accept: tuple[str, ...] = ()
    result_serializer: str | None = None
    worker_timeout: int | None = None
    unenveloped: str | None = None
    store_result: bool | None = None
    retry_policy: RetryPolicy = NO_RETRIES
    schedule: Schedule | None = None
    version: int | None = None
    payload_budget: int | None = None
    sensitive: tuple[str, ...] = ()  # parameters the console never shows
    options: SubmitOptions = field(default_factory=SubmitOptions, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _JOB_NAME.match(self.name):
            raise ConfigurationError(
                f"job name {self.name!r} must be non-empty printable ASCII without spaces"
            )
        timeout = self.worker_timeout
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0
        ):
            raise ConfigurationError(
                f"job {self.name!r}: worker_timeout must be a positive whole number of seconds "
                f"(Gearman's CAN_DO_TIMEOUT), not {timeout!r}"
            )
        for option in ("serializer", "result_serializer", "unenveloped", "queue"):
            value = getattr(self, option)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigurationError(f"job {self.name!r}: {option} must be a non-empty string")
        for option in ("version", "payload_budget"):  # the job's contract (docs/envelope.md)
            value = getattr(self, option)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigurationError(f"job {self.name!r}: {option} must be a whole number")
        if any(value is not None and value < 1 for value in (self.version, self.payload_budget)):
            raise ConfigurationError(f"job {self.name!r}: version and payload_budget must be >= 1")
        if isinstance(self.accept, str) or not all(isinstance(a, str) for a in self.accept):
            raise ConfigurationError(
                f"job {self.name!r}: accept must be a list of content types or serializer names"
            )
        if self.schedule is not None:  # a cron string or a timedelta becomes Cron/Every
            object.__setattr__(self, "schedule", parse_schedule(self.schedule))
        _check_sensitive(self)
        if self.retry_policy.retries and self.store_result is not True:
            raise ConfigurationError(
                f"job {self.name!r}: retries live in the result store; add store_result=True"
            )

    @property
    def stores_results(self) -> bool:
        """Whether calls of this job get a record (``store_result``, else the project's
        GEARMAN_STORE_RESULTS)."""
        if self.store_result is not None:
            return self.store_result
        return get_settings().store_results

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the plain function in this process (no Gearman, no serialization)."""
        return self.func(*args, **kwargs)

    @property
    def __wrapped__(self) -> Callable[P, T]:
        return self.func

    def using(
        self,
        *,
        priority: str | None = None,
        unique: str | bool | None = None,
        background: bool | None = None,
        timeout: float | None = None,
        eager: bool | None = None,
        on_status: ProgressCallback | None = None,
        on_data: Callable[[Any], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        client: GearmanClient | None = None,
        on_commit: bool | None = None,
        run_after: datetime | None = None,
        countdown: float | None = None,
    ) -> Self:
        """A copy of this job that submits with the given Gearman options.

        ``on_commit=True``: ``dispatch`` sends the job when the surrounding transaction commits
        (at once outside one), and nothing on a rollback. ``run_after`` (an aware datetime) or
        ``countdown`` (seconds from the dispatch) defers a dispatched job: it waits in the
        result store until ``gearman_scheduler`` releases it.
        """
        changes: dict[str, Any] = {
            key: value
            for key, value in {
                "priority": priority,
                "unique": unique,
                "background": background,
                "timeout": timeout,
                "eager": eager,
                "on_status": on_status,
                "on_data": on_data,
                "on_warning": on_warning,
                "client": client,
                "on_commit": on_commit,
            }.items()
            if value is not None
        }
        if priority is not None and priority not in PRIORITIES:
            raise ConfigurationError(f"priority must be one of {PRIORITIES}, not {priority!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ConfigurationError(f"timeout must be a positive number of seconds: {timeout!r}")
        if run_after is not None or countdown is not None:  # replaces an earlier deferral
            check_deferral(run_after, countdown)
            changes.update(run_after=run_after, countdown=countdown)
        return dataclasses.replace(self, options=dataclasses.replace(self.options, **changes))

    def submit(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the job on a worker and return its (validated) result."""
        result: T = _client(self.options).run_job(self, args, kwargs, self.options)
        return result

    def dispatch(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Queue the job in the background; returns the Gearman job handle (no result), ``""``
        when it is sent later (``on_commit``, or a stored job inside a transaction). A job
        declared with ``store_result=True`` returns its ``StoredResult`` instead."""
        options = dataclasses.replace(self.options, background=True)
        handle: str = _client(self.options).run_job(self, args, kwargs, options)
        return handle

    async def asubmit(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """``submit`` for asyncio code (many jobs in flight on one connection per server)."""
        result: T = await _client(self.options).arun_job(self, args, kwargs, self.options)
        return result

    async def adispatch(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """``dispatch`` for asyncio code; returns the Gearman job handle."""
        options = dataclasses.replace(self.options, background=True)
        handle: str = await _client(self.options).arun_job(self, args, kwargs, options)
        return handle

    def get_result(self, result_id: Any) -> StoredResult[T]:
        """The stored job ``result_id`` of this job, from any process (``ResultDoesNotExist``,
        ``ResultMismatch`` if it is another job's)."""
        return _client(self.options).get_result(self, result_id)

    async def aget_result(self, result_id: Any) -> StoredResult[T]:
        """``get_result`` for asyncio code."""
        return await _client(self.options).aget_result(self, result_id)

    @property
    def wire_name(self) -> str:
        """The Gearman function name (after GEARMAN_JOB_NAME), what any worker registers."""
        return get_settings().wire_name(self.name)


@dataclass(frozen=True, slots=True)
class StoredJob(GearmanJob[P, T]):
    """A job declared with ``store_result=True``: ``dispatch`` gives its ``StoredResult``
    (the id to look it up by, from any process) instead of a handle, hence the overrides'
    other return type."""

    def dispatch(self, *args: P.args, **kwargs: P.kwargs) -> StoredResult[T]:  # type: ignore[override]
        options = dataclasses.replace(self.options, background=True)
        result: StoredResult[T] = _client(self.options).run_job(self, args, kwargs, options)
        return result

    async def adispatch(self, *args: P.args, **kwargs: P.kwargs) -> StoredResult[T]:  # type: ignore[override]
        options = dataclasses.replace(self.options, background=True)
        result: StoredResult[T] = await _client(self.options).arun_job(self, args, kwargs, options)
        return result


def _client(options: SubmitOptions) -> GearmanClient:
    """The client of a call: ``using(client=...)``, else the process-wide one.

    The declaration's one import of the client, deferred to the first submit so that declaring
    a job never loads the client (the client imports this module).
    """
    if options.client is not None:
        return options.client
    global _default_client_getter
    if _default_client_getter is None:  # once per process: an import costs ~1 us per call
        from .client import default_client

        _default_client_getter = default_client
    return _default_client_getter()


_default_client_getter: Callable[[], GearmanClient] | None = None


def default_job_name(func: Callable[..., Any]) -> str:
    """``myapp.gearman_jobs.my_job`` -> ``myapp.my_job``: the import path, module name dropped."""
    module_parts = [part for part in func.__module__.split(".") if part != "gearman_jobs"]
    return ".".join([*module_parts, func.__qualname__])


def function_path(func: Callable[..., Any]) -> str:
    """``module.QualName`` of a job function, as error messages name it."""
    return f"{func.__module__}.{func.__qualname__}"


class JobRegistry:
    """Every job defined with ``@gearman_job``, by logical name. Thread-safe."""

    def __init__(self) -> None:
        self._jobs: dict[str, GearmanJob[Any, Any]] = {}
        self._lock = threading.Lock()

    def add(self, job: GearmanJob[Any, Any]) -> None:
        """Register ``job``; the same function again (a reloaded module) replaces itself.

        Raises ``DuplicateJobName`` if another function already has this name.
        """
        with self._lock:
            existing = self._jobs.get(job.name)
            if existing is not None and function_path(existing.func) != function_path(job.func):
                raise DuplicateJobName(
                    job.name, function_path(existing.func), function_path(job.func)
                )
            self._jobs[job.name] = job

    def get(self, name: str) -> GearmanJob[Any, Any]:
        try:
            return self._jobs[name]
        except KeyError:
            raise JobNotFound(f"no job named {name!r} is registered") from None

    def find(self, name: str) -> GearmanJob[Any, Any] | None:
        return self._jobs.get(name)

    def registered(self, job: GearmanJob[Any, Any] | None) -> GearmanJob[Any, Any] | None:
        """The registered object of ``job`` (``job.using(...)`` makes copies): the sender of
        its signals, so that receivers can connect with ``sender=the_job``."""
        if job is None:
            return None
        return self._jobs.get(job.name, job)

    def for_queues(self, queues: Sequence[str]) -> list[GearmanJob[Any, Any]]:
        """The jobs a worker serves: all of them, or those in one of ``queues``."""
        return [job for job in self if not queues or job.queue in queues]

    def __iter__(self) -> Iterator[GearmanJob[Any, Any]]:
        return iter(sorted(self._jobs.values(), key=lambda job: job.name))

    def __len__(self) -> int:
        return len(self._jobs)


registry = JobRegistry()


def _check_sensitive(job: GearmanJob[Any, Any]) -> None:
    """``sensitive`` names parameters of the function: a misspelt name would show a secret."""
    names = job.sensitive
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ConfigurationError(f"job {job.name!r}: sensitive must be a list of parameter names")
    try:
        parameters = set(inspect.signature(job.func).parameters)
    except (TypeError, ValueError):
        return
    unknown = sorted(set(names) - parameters)
    if unknown:
        raise ConfigurationError(f"job {job.name!r}: sensitive names no parameter {unknown}")


@overload
def gearman_job(func: Callable[P, T], /) -> GearmanJob[P, T]: ...


@overload
def gearman_job(
    *,
    store_result: Literal[True],
    name: str | None = None,
    queue: str | None = None,
    serializer: str | None = None,
    accept: Sequence[str] = (),
    result_serializer: str | None = None,
    worker_timeout: int | None = None,
    unenveloped: str | None = None,
    timeout: int | None = None,
    retries: int = 0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    retry_delay: float = DEFAULT_BASE_DELAY,
    schedule: str | timedelta | Schedule | None = None,
    version: int | None = None,
    payload_budget: int | None = None,
    sensitive: Sequence[str] = (),
) -> Callable[[Callable[P, T]], StoredJob[P, T]]: ...


@overload
def gearman_job(
    *,
    store_result: bool | None = None,
    name: str | None = None,
    queue: str | None = None,
    serializer: str | None = None,
    accept: Sequence[str] = (),
    result_serializer: str | None = None,
    worker_timeout: int | None = None,
    unenveloped: str | None = None,
    timeout: int | None = None,
    retries: int = 0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    retry_delay: float = DEFAULT_BASE_DELAY,
    schedule: str | timedelta | Schedule | None = None,
    version: int | None = None,
    payload_budget: int | None = None,
    sensitive: Sequence[str] = (),
) -> Callable[[Callable[P, T]], GearmanJob[P, T]]: ...


def gearman_job(
    func: Callable[P, T] | None = None,
    /,
    *,
    name: str | None = None,
    queue: str | None = None,
    serializer: str | None = None,
    accept: Sequence[str] = (),
    result_serializer: str | None = None,
    worker_timeout: int | None = None,
    unenveloped: str | None = None,
    timeout: int | None = None,
    sensitive: Sequence[str] = (),
    store_result: bool | None = None,
    retries: int = 0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    retry_delay: float = DEFAULT_BASE_DELAY,
    schedule: str | timedelta | Schedule | None = None,
    version: int | None = None,
    payload_budget: int | None = None,
) -> GearmanJob[P, T] | Callable[[Callable[P, T]], GearmanJob[P, T]]:
    """Declare a Gearman job, bare (``@gearman_job``) or with options (``@gearman_job(...)``).

    ``serializer`` writes and reads the call (default GEARMAN_DEFAULT_SERIALIZER); ``accept`` adds
    content types the worker also reads (during a migration); ``result_serializer`` writes the
    result; ``worker_timeout`` is Gearman's CAN_DO_TIMEOUT in seconds; ``unenveloped`` names the
    content type of bare payloads sent by old or foreign clients (off by default: they are
    refused). ``timeout`` is the deprecated spelling of ``worker_timeout``. ``version`` is the
    version of the job's signature: calls then carry ``schema=NAME@VERSION`` and a worker refuses
    calls of another version (without it, calls carry no version and exports say 1);
    ``payload_budget`` is the payload size in bytes past which a warning is logged and counted,
    before GEARMAN_MAX_PAYLOAD_SIZE refuses (default: 80% of that limit).

    ``store_result`` keeps a record of every call in the database (default
    GEARMAN_STORE_RESULTS); ``retries`` more attempts (stored jobs only) follow a failure with an
    exception in ``retry_on``, after an exponential backoff from ``retry_delay`` seconds.

    ``schedule`` makes it a periodic job, run by ``manage.py gearman_scheduler``: a cron string
    (UTC), a ``timedelta``, or ``Cron(...)``/``Every(...)`` with a catch-up window and fixed
    arguments (see ``schedules``).

    ``sensitive`` names parameters whose values the operator console never shows.
    """
    policy = (
        RetryPolicy(retries=retries, retry_on=retry_on, base_delay=retry_delay)
        if retries or retry_on != (Exception,) or retry_delay != DEFAULT_BASE_DELAY
        else NO_RETRIES
    )
    if timeout is not None:
        if worker_timeout is not None:
            raise ConfigurationError("pass worker_timeout only (timeout is its deprecated name)")
        warnings.warn(
            "@gearman_job(timeout=...) is deprecated: it is gearmand's CAN_DO_TIMEOUT, now "
            "called worker_timeout (the client's wait is job.using(timeout=...))",
            DeprecationWarning,
            stacklevel=2,
        )
        worker_timeout = timeout

    def decorate(function: Callable[P, T]) -> GearmanJob[P, T]:
        if not callable(function):
            raise ConfigurationError(f"@gearman_job needs a function, not {function!r}")
        kind = StoredJob if store_result else GearmanJob
        job: GearmanJob[P, T] = kind(
            func=function,
            name=name if name is not None else default_job_name(function),
            queue=queue,
            serializer=serializer,
            accept=accept if isinstance(accept, str) else tuple(accept),  # type: ignore[arg-type]
            result_serializer=result_serializer,
            worker_timeout=worker_timeout,
            unenveloped=unenveloped,
            store_result=store_result,
            retry_policy=policy,
            schedule=schedule,  # type: ignore[arg-type]  # parsed in __post_init__
            version=version,
            payload_budget=payload_budget,
            sensitive=(sensitive,) if isinstance(sensitive, str) else tuple(sensitive),
        )
        registry.add(job)
        return job

    if func is not None:
        return decorate(func)
    return decorate
