"""``@gearman_job``: the decorator, the job object it returns, and the registry of jobs.

A job is a frozen dataclass around a plain function (as in ``django.tasks``): calling it runs the
function here and now; ``submit``/``dispatch`` send it to a worker; ``using(...)`` returns a copy
with Gearman options (priority, unique, background, timeout, ...). Those options live on the copy,
never in the call's arguments, so they can never collide with the job's own parameters.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from .errors import ConfigurationError, JobNotFound

if TYPE_CHECKING:
    from .client import GearmanClient, ProgressCallback

P = ParamSpec("P")
T = TypeVar("T")

PRIORITIES = ("high", "normal", "low")
_JOB_NAME = re.compile(r"^[!-~]+$")  # printable ASCII, no spaces: safe in every peer


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """Per-call Gearman options; ``None`` means "the default from settings or the job"."""

    priority: str = "normal"
    unique: str | bool | None = None
    background: bool = False
    timeout: float | None = None
    eager: bool | None = None
    on_status: ProgressCallback | None = None
    on_data: Callable[[Any], None] | None = None
    on_warning: Callable[[str], None] | None = None
    client: GearmanClient | None = None


@dataclass(frozen=True, slots=True)
class GearmanJob(Generic[P, T]):
    """A registered job. Call it to run the function locally; ``submit`` to run it on a worker."""

    func: Callable[P, T]
    name: str
    queue: str | None = None
    serializer: str | None = None
    accept: tuple[str, ...] = ()
    result_serializer: str | None = None
    timeout: int | None = None
    unenveloped: str | None = None
    options: SubmitOptions = field(default_factory=SubmitOptions, compare=False)
    # ``options`` with background=True, made on the first dispatch (replace() costs 1.5 us).
    _dispatch_options: SubmitOptions | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _JOB_NAME.match(self.name):
            raise ConfigurationError(
                f"job name {self.name!r} must be non-empty printable ASCII without spaces"
            )
        if self.timeout is not None and (
            isinstance(self.timeout, bool) or not isinstance(self.timeout, int) or self.timeout <= 0
        ):
            raise ConfigurationError(
                f"job {self.name!r}: timeout must be a positive whole number of seconds "
                f"(Gearman's CAN_DO_TIMEOUT), not {self.timeout!r}"
            )
        for option in ("serializer", "result_serializer", "unenveloped", "queue"):
            value = getattr(self, option)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigurationError(f"job {self.name!r}: {option} must be a non-empty string")
        if isinstance(self.accept, str) or not all(isinstance(a, str) for a in self.accept):
            raise ConfigurationError(
                f"job {self.name!r}: accept must be a list of content types or serializer names"
            )

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
    ) -> GearmanJob[P, T]:
        """A copy of this job that submits with the given Gearman options."""
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
            }.items()
            if value is not None
        }
        if priority is not None and priority not in PRIORITIES:
            raise ConfigurationError(f"priority must be one of {PRIORITIES}, not {priority!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ConfigurationError(f"timeout must be a positive number of seconds: {timeout!r}")
        return dataclasses.replace(self, options=dataclasses.replace(self.options, **changes))

    def submit(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the job on a worker and return its (validated) result."""
        client = _client(self.options)
        result: T = client.run_job(self, args, kwargs, self.options)
        return result

    def dispatch(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Queue the job in the background; returns the Gearman job handle (no result)."""
        client = _client(self.options)
        handle: str = client.run_job(self, args, kwargs, self._background_options())
        return handle

    async def asubmit(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """``submit`` for asyncio code (many jobs in flight on one connection per server)."""
        client = _client(self.options)
        result: T = await client.arun_job(self, args, kwargs, self.options)
        return result

    async def adispatch(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """``dispatch`` for asyncio code; returns the Gearman job handle."""
        client = _client(self.options)
        handle: str = await client.arun_job(self, args, kwargs, self._background_options())
        return handle

    def _background_options(self) -> SubmitOptions:
        """``options`` with background=True, made once per job object (it is immutable)."""
        options = self._dispatch_options
        if options is None:
            options = dataclasses.replace(self.options, background=True)
            object.__setattr__(self, "_dispatch_options", options)
        return options

    @property
    def wire_name(self) -> str:
        """The Gearman function name (after GEARMAN_JOB_NAME), what any worker registers."""
        from .conf import get_settings

        return get_settings().wire_name(self.name)

    @property
    def spec(self) -> Any:
        """The cached runtime view of this job (schema, policies); see ``runtime.JobSpec``."""
        from .runtime import job_spec

        return job_spec(self)


_default_client: Callable[[], GearmanClient] | None = None


def _client(options: SubmitOptions) -> GearmanClient:
    """The client of a call: ``using(client=...)``, else the process-wide one. ``client``
    imports this module, so it is imported on first use and the function kept."""
    global _default_client
    if options.client is not None:
        return options.client
    if _default_client is None:
        from .client import default_client

        _default_client = default_client
    return _default_client()


def default_job_name(func: Callable[..., Any]) -> str:
    """``myapp.gearman_jobs.my_job`` -> ``myapp.my_job``: the import path, module name dropped."""
    module_parts = [part for part in func.__module__.split(".") if part != "gearman_jobs"]
    return ".".join([*module_parts, func.__qualname__])


class JobRegistry:
    """Every job defined with ``@gearman_job``, by logical name. Thread-safe."""

    def __init__(self) -> None:
        self._jobs: dict[str, GearmanJob[Any, Any]] = {}
        self._duplicates: dict[str, list[GearmanJob[Any, Any]]] = {}
        self._lock = threading.Lock()

    def add(self, job: GearmanJob[Any, Any]) -> None:
        """Register ``job``; a second function under one name is kept for the system check."""
        with self._lock:
            existing = self._jobs.get(job.name)
            if existing is not None and not _same_function(existing.func, job.func):
                self._duplicates.setdefault(job.name, [existing]).append(job)
            self._jobs[job.name] = job

    def remove(self, name: str) -> None:
        with self._lock:
            self._jobs.pop(name, None)
            self._duplicates.pop(name, None)

    def get(self, name: str) -> GearmanJob[Any, Any]:
        try:
            return self._jobs[name]
        except KeyError:
            raise JobNotFound(f"no job named {name!r} is registered") from None

    def find(self, name: str) -> GearmanJob[Any, Any] | None:
        return self._jobs.get(name)

    def duplicates(self) -> dict[str, list[GearmanJob[Any, Any]]]:
        with self._lock:
            return {name: list(jobs) for name, jobs in self._duplicates.items()}

    def for_queues(self, queues: Sequence[str]) -> list[GearmanJob[Any, Any]]:
        """The jobs a worker serves: all of them, or those in one of ``queues``."""
        jobs = sorted(self._jobs.values(), key=lambda job: job.name)
        return [job for job in jobs if not queues or job.queue in queues]

    def __iter__(self) -> Iterator[GearmanJob[Any, Any]]:
        return iter(sorted(self._jobs.values(), key=lambda job: job.name))

    def __len__(self) -> int:
        return len(self._jobs)


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """A module imported twice (e.g. reloaded) redefines, it does not duplicate."""
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


registry = JobRegistry()


@overload
def gearman_job(func: Callable[P, T], /) -> GearmanJob[P, T]: ...


@overload
def gearman_job(
    *,
    name: str | None = None,
    queue: str | None = None,
    serializer: str | None = None,
    accept: Sequence[str] = (),
    result_serializer: str | None = None,
    timeout: int | None = None,
    unenveloped: str | None = None,
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
    timeout: int | None = None,
    unenveloped: str | None = None,
) -> GearmanJob[P, T] | Callable[[Callable[P, T]], GearmanJob[P, T]]:
    """Declare a Gearman job, bare (``@gearman_job``) or with options (``@gearman_job(...)``).

    ``serializer`` writes and reads the call (default GEARMAN_DEFAULT_SERIALIZER); ``accept`` adds
    content types the worker also reads (during a migration); ``result_serializer`` writes the
    result; ``timeout`` is Gearman's CAN_DO_TIMEOUT in seconds; ``unenveloped`` names the content
    type of bare payloads sent by old or foreign clients (off by default: they are refused).
    """

    def decorate(function: Callable[P, T]) -> GearmanJob[P, T]:
        if not callable(function):
            raise ConfigurationError(f"@gearman_job needs a function, not {function!r}")
        job: GearmanJob[P, T] = GearmanJob(
            func=function,
            name=name if name is not None else default_job_name(function),
            queue=queue,
            serializer=serializer,
            accept=accept if isinstance(accept, str) else tuple(accept),  # type: ignore[arg-type]
            result_serializer=result_serializer,
            timeout=timeout,
            unenveloped=unenveloped,
        )
        registry.add(job)
        return job

    if func is not None:
        return decorate(func)
    return decorate
