"""``GearmanClient``: submits jobs, typed (``job.submit``) or by name (the 0.2 forms, ``compat``).

Every path, sync, asyncio and batch, prepares a call with one method, ``prepare``: look up the
job's codec, validate and encode the arguments, pick the unique id and the wait. What differs is
only the I/O: the sync transport, the asyncio transport (one per event loop), a pipelined batch,
or eager mode in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import threading
import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from serializers import SerializerError

from .calls import JobSpec, job_spec, remote_spec, run_eagerly
from .coalescing import call_unique
from .compat import LegacyCalls
from .conf import GearmanSettings, get_settings, on_settings_reset, split_servers
from .declaration import GearmanJob, SubmitOptions, registry
from .exceptions import (
    LAYER_ERRORS,
    ConfigurationError,
    GearmanJobError,
    InvalidCall,
    JobLost,
    JobNotFound,
    as_job_error,
    raise_job_error,
)
from .protocol import AsyncClient, Client, GearmanError, JobRequest, JobResult, Priority
from .signals import JobLifecycle, job_enqueued
from .unique import unique_id

if TYPE_CHECKING:
    from .results import StoredResult

_PRIORITY = {"high": Priority.HIGH, "normal": Priority.NORMAL, "low": Priority.LOW}


class PreparedCall(NamedTuple):
    """One call ready to send: validated and encoded, with its unique id and how long to wait.

    ``job`` is the local definition, if any: eager mode runs it with the job's own spec, as a
    worker would, even when the caller picked another serializer. A named tuple: immutable,
    and built once per call at a third of a frozen dataclass's cost.
    """

    spec: JobSpec
    job: GearmanJob[Any, Any] | None
    payload: bytes
    unique: str | None
    options: SubmitOptions
    wait: float
    eager: bool

    def request(self) -> JobRequest:
        """The transport's view of this call (for ``submit_many``)."""
        return JobRequest(self.spec.wire_name, self.payload, **self._transport_options())

    def transport_arguments(self) -> dict[str, Any]:
        """The transport's ``submit`` keywords, shared by the sync and asyncio paths."""
        arguments = self._transport_options()
        arguments["timeout"] = self.wait
        return arguments

    def _transport_options(self) -> dict[str, Any]:
        options = self.options
        return {
            "unique": self.unique,
            "priority": _PRIORITY[options.priority],
            "background": options.background,
            "on_status": options.on_status,
            "on_data": self.spec.data_callback(options.on_data) if options.on_data else None,
            "on_warning": _warning_callback(options.on_warning) if options.on_warning else None,
        }

    def run_eagerly(self) -> Any:
        """Run the call in this process through the worker's path (eager mode), with the
        worker's signals, hygiene and record keeping."""
        job = self.job
        worker_spec = job_spec(job) if job is not None else self.spec
        lifecycle = (
            JobLifecycle(registry.registered(job), job.retry_policy, hygiene=False)
            if job is not None
            else None
        )
        return run_eagerly(self.spec, worker_spec, self.payload, self.options, lifecycle)

    def outcome(self, result: JobResult) -> Any:
        """The call's value from the transport's result: the decoded result, the handle of a
        background job, or the typed error."""
        if result.error is not None:  # submit_many reports transport failures per job
            raise result.error
        if result.state == "queued":
            return result.handle.decode("ascii", "replace") if result.handle else ""
        if result.state == "complete":
            return self.spec.decode_result(result.result)
        if result.state == "exception":
            raise self.spec.decode_failure(result.exception or b"")
        raise JobLost(self.spec.name, "the worker reported WORK_FAIL (it crashed or gave up)")


@dataclass(frozen=True, slots=True)
class _LoopTransport:
    """The ``AsyncClient`` of one event loop and the guard that closes it with the loop."""

    client: AsyncClient
    guard: AsyncGenerator[None, None]

    async def start(self) -> None:
        """Run the guard to its ``yield``: the loop now knows it and closes it at shutdown."""
        await anext(self.guard)

    def forget(self) -> None:
        """End the guard of a loop that closed without shutting down its async generators,
        without the loop (its connections go with the loop's own objects)."""
        with contextlib.suppress(StopIteration, RuntimeError):
            self.guard.aclose().send(None)


class GearmanClient(LegacyCalls):
    """Submits jobs; one per process is enough (``default_client()``), it is thread-safe.

    ``servers`` defaults to GEARMAN_SERVERS (a list, or one string of comma-separated
    addresses), ``serializer`` to GEARMAN_DEFAULT_SERIALIZER (a serializer given here declares
    every name it submits a job served elsewhere), ``eager`` to GEARMAN_EAGER and ``timeout``
    (seconds a foreground job may take) to GEARMAN_TIMEOUT. Everything it raises is a
    ``GearmanJobError``. The 0.2 methods (``submit_job``, ``do_task``,
    ``do_tasks``, ``dispatch_background_task``) come from ``compat.LegacyCalls``.
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
        self._async_transports: dict[asyncio.AbstractEventLoop, _LoopTransport] = {}
        self._lock = threading.Lock()

    # -- transport -------------------------------------------------------------------------

    @property
    def transport(self) -> Client:
        """The protocol client, created on first use (so constructing never connects)."""
        transport = self._transport  # read without the lock: it is only ever set whole
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

    async def _async_transport(self) -> AsyncClient:
        """One ``AsyncClient`` per event loop (its connections belong to that loop).

        Its connections die with their loop: an ``async def`` view under WSGI runs on a new
        loop per request (``async_to_sync``, i.e. ``asyncio.run``), and each loop's connections
        would otherwise stay open for good. A guard started on the loop closes them when the
        loop shuts down (``shutdown_asyncgens``, which ``asyncio.run`` calls); loops closed
        without that are forgotten the next time a new loop needs a client.
        """
        loop = asyncio.get_running_loop()
        found = self._async_transports.get(loop)  # the lock is for creating one
        if found is not None:
            return found.client
        created = None
        with self._lock:
            closed = [old for old in self._async_transports if old.is_closed()]
            stale = [self._async_transports.pop(old) for old in closed]
            found = self._async_transports.get(loop)
            if found is None:
                current = get_settings()
                transport = AsyncClient(
                    self._server_list(current),
                    connect_timeout=current.connect_timeout,
                    default_timeout=current.timeout,
                )
                found = created = _LoopTransport(transport, self._closed_with_loop(loop, transport))
                self._async_transports[loop] = found
        for dead in stale:
            dead.forget()
        if created is not None:
            await created.start()
        return found.client

    async def _closed_with_loop(
        self, loop: asyncio.AbstractEventLoop, transport: AsyncClient
    ) -> AsyncGenerator[None, None]:
        """Suspended for the loop's lifetime; the loop closes it at shutdown (or ``aclose``)."""
        try:
            yield
        finally:
            with self._lock:
                if (entry := self._async_transports.get(loop)) and entry.client is transport:
                    del self._async_transports[loop]
            if not loop.is_closed():
                await transport.close()

    def _server_list(self, current: GearmanSettings) -> list[str]:
        servers = list(current.servers) if self._servers is None else split_servers(self._servers)
        if not servers:
            raise ConfigurationError("GEARMAN_SERVERS lists no server to submit to")
        return servers

    def close(self) -> None:
        """Close the pooled connections (a later submit reconnects)."""
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    async def aclose(self) -> None:
        """Close the asyncio connections of the running loop (and the sync ones)."""
        with self._lock:
            found = self._async_transports.get(asyncio.get_running_loop())
        if found is not None:
            await found.guard.aclose()
        self.close()

    def __enter__(self) -> GearmanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- preparing a call (every path) -----------------------------------------------------

    def prepare(
        self,
        name: str,
        job: GearmanJob[Any, Any] | None,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        options: SubmitOptions,
        serializer: str | None = None,
        record_id: uuid.UUID | None = None,
    ) -> PreparedCall:
        """Validate and encode one call of job ``name`` (``job`` if it is defined here).

        Nothing is sent; a wrong argument or option raises here. ``serializer`` overrides the
        request serializer (a ``Task``'s, or the client's for a job known only by name).
        ``record_id``: the call of a stored job carries its record's id (header field ``id``),
        which is also its Gearman unique id.
        """
        try:
            if job is not None:
                spec = job_spec(job, serializer)
            else:
                chosen = serializer or self.serializer
                if chosen is None and not get_settings().is_remote_job(name):
                    raise unknown_job(name)
                spec = remote_spec(name, chosen)
            if record_id is not None:
                if options.unique is not None:
                    raise ConfigurationError(
                        f"job {name!r} stores its result: its unique id is its record id, so "
                        "unique= cannot coalesce its calls (each call has a record of its own)"
                    )
                payload = spec.encode_call(args, kwargs, {"id": record_id.hex})
                unique: str | None = record_id.hex
            else:
                payload = spec.encode_call(args, kwargs)
                unique = _unique(options, spec, args, kwargs, payload)
        except LAYER_ERRORS as exc:
            raise_job_error(exc)
        eager = options.eager if options.eager is not None else self.eager
        return PreparedCall(
            spec=spec,
            job=job,
            payload=payload,
            unique=unique,
            options=options,
            wait=options.timeout or self.timeout or spec.timeout,
            eager=eager if eager is not None else spec.eager,
        )

    # -- sending prepared calls ------------------------------------------------------------

    def run_prepared(self, call: PreparedCall, retries: int = 0) -> Any:
        """Send one call and return its outcome; ``retries`` re-submits after WORK_FAIL only
        (a job whose outcome is unknown is never re-submitted)."""
        try:
            if call.eager:
                return call.run_eagerly()
            arguments = call.transport_arguments()
            for attempt in range(retries + 1):
                result = self.transport.submit(call.spec.wire_name, call.payload, **arguments)
                if result.state != "failed" or attempt == retries:
                    break
            return call.outcome(result)
        except LAYER_ERRORS as exc:
            raise_job_error(exc)

    async def arun_prepared(self, call: PreparedCall) -> Any:
        """``run_prepared`` for asyncio code, on this event loop's ``AsyncClient``."""
        try:
            if call.eager:
                return call.run_eagerly()
            transport = await self._async_transport()
            result = await transport.submit(
                call.spec.wire_name, call.payload, **call.transport_arguments()
            )
            return call.outcome(result)
        except LAYER_ERRORS as exc:
            raise_job_error(exc)

    def run_batch(self, calls: Sequence[PreparedCall]) -> list[Any]:
        """Send many calls pipelined; each outcome (or the error it raised) in call order.

        The calls that wait equally long go in one pipelined batch; batches of different waits
        run one after another, the shortest first, so each call waits at most its own ``wait``
        after it was sent.
        """
        outcomes: list[Any] = [None] * len(calls)
        by_wait: dict[float, list[int]] = {}
        for index, call in enumerate(calls):
            if call.eager:
                outcomes[index] = _settled(call.run_eagerly)
            else:
                by_wait.setdefault(call.wait, []).append(index)
        for wait, indexes in sorted(by_wait.items()):
            requests = [calls[index].request() for index in indexes]
            try:
                results = self.transport.submit_many(requests, timeout=wait)
            except LAYER_ERRORS as exc:
                raise_job_error(exc)
            for index, result in zip(indexes, results, strict=True):
                outcomes[index] = _settled(calls[index].outcome, result)
        return outcomes

    # -- typed API (used by GearmanJob.submit/dispatch) ------------------------------------

    def run_job(
        self,
        job: GearmanJob[Any, Any],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        options: SubmitOptions,
    ) -> Any:
        """Submit a locally defined job with already separated arguments; a stored job goes
        through ``results.run_stored`` (its record first), ``on_commit`` waits for the commit."""
        if job.stores_results or options.deferred:  # a deferred job waits in the store
            from .results import run_stored

            return run_stored(self, job, args, kwargs, options)
        call = self.prepare(job.name, job, args, kwargs, options)
        if options.on_commit:
            from .results import on_commit

            on_commit(lambda: self._enqueued(call, self.run_prepared(call)), None)
            return ""
        return self._enqueued(call, self.run_prepared(call))

    def _enqueued(self, call: PreparedCall, outcome: Any) -> Any:
        """Send ``job_enqueued`` for an unstored job (its handle, or "" in the foreground)."""
        if job_enqueued.receivers:
            handle = outcome if call.options.background and isinstance(outcome, str) else ""
            job_enqueued.send(sender=registry.registered(call.job), handle=handle, result=None)
        return outcome

    async def arun_job(
        self,
        job: GearmanJob[Any, Any],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        options: SubmitOptions,
    ) -> Any:
        """``run_job`` for asyncio code: the same preparation, an ``AsyncClient`` for the I/O
        (a stored job's database writes and submit run in a thread, as Django's async ORM)."""
        if job.stores_results or options.on_commit or options.deferred:
            from asgiref.sync import sync_to_async

            return await sync_to_async(self.run_job)(job, args, kwargs, options)
        call = self.prepare(job.name, job, args, kwargs, options)
        return self._enqueued(call, await self.arun_prepared(call))

    # -- stored results ----------------------------------------------------------------------

    def get_result(self, job: GearmanJob[Any, Any], result_id: Any) -> StoredResult[Any]:
        """The stored job ``result_id`` of ``job`` (see ``results.get_result``)."""
        from .results import get_result

        return get_result(job, result_id)

    async def aget_result(self, job: GearmanJob[Any, Any], result_id: Any) -> StoredResult[Any]:
        from .results import aget_result

        return await aget_result(job, result_id)


def _settled(function: Callable[..., Any], *args: Any) -> Any:
    """The function's result, or the exception it raised (for ``return_exceptions``)."""
    try:
        return function(*args)
    except (GearmanJobError, GearmanError, SerializerError) as exc:
        return as_job_error(exc)


def _unique(
    options: SubmitOptions,
    spec: JobSpec,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    payload: bytes,
) -> str | None:
    """The call's unique id (``"auto"``: from the canonical call); a malformed ``unique=`` option,
    or an ``"auto"`` call that has no canonical form, is a typed error."""
    try:
        unique = call_unique(spec, args, kwargs) if options.unique == "auto" else options.unique
        return unique_id(
            unique, background=options.background, wire_name=spec.wire_name, payload=payload
        )
    except TypeError as exc:
        raise InvalidCall(str(exc)) from None
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def unknown_job(name: str) -> JobNotFound:
    """The error for a name that is neither a job here nor declared remote, naming the closest
    local jobs (a typo would otherwise wait out its timeout, or stay queued forever)."""
    suggestions = tuple(difflib.get_close_matches(name, [job.name for job in registry], n=3))
    hint = f" Did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
    return JobNotFound(
        f"no job {name!r} in this project.{hint} A job served elsewhere (another project or "
        f"language) is declared in GEARMAN_REMOTE_JOBS, or submitted with an explicit "
        f"serializer (GearmanClient(serializer=...), Task(serializer=...))",
        suggestions,
    )


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

__all__ = ["GearmanClient", "PreparedCall", "default_client"]
