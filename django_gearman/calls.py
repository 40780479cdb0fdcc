"""The call codec: one job's encoding rules, and the one execution path of worker and eager mode.

``JobSpec`` is everything the layers need to move one job, computed once per job and settings
(policies, serializers, schema, signing key), so a call does little more than validate, encode,
send, decode. ``execute`` is what a worker runs for a job, and what eager mode runs in-process:
decode the call envelope, validate it, call the function, negotiate and encode the result; any
failure becomes an error envelope raised as ``WorkException`` (WORK_EXCEPTION on the wire).

This module never imports the declaration (``declaration.py``): it reads a job's attributes, so
the declaration stays a leaf and the codec can serve jobs known only by name.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Protocol

from serializers import (
    Call,
    CallSchema,
    DecodePolicy,
    JsonSerializer,
    MsgpackSerializer,
    PayloadTooLarge,
    ResultSchema,
    Serializer,
    SerializerError,
    SigningKey,
    ValidationFailed,
    decode,
    encode,
    get_serializer,
    wire_arguments,
)
from serializers.envelope import MAGIC

from . import tracing
from .conf import GearmanSettings, get_settings, on_settings_reset
from .exceptions import JobFailed, JobNotFound, JobRefused, NotNegotiable
from .protocol import WorkException
from .reporting import JobContext, enter_job, leave_job
from .schemas.budgets import check_budget, effective_budget
from .schemas.versions import check_call_version, contract_field

if TYPE_CHECKING:
    from .declaration import GearmanJob, SubmitOptions

JSON = "application/json"
MAX_ERROR_MESSAGE = 8 * 1024  # characters of an exception message in an error envelope
MAX_TRACEBACK = 64 * 1024  # characters of traceback text (only with GEARMAN_SEND_TRACEBACKS)
MAX_ERROR_DETAILS = 20  # validation errors listed in an error envelope; the rest are counted
MAX_DETAIL_TEXT = 512  # characters of each field (loc, msg, type) of a listed validation error
MAX_NEGOTIATED = 64  # distinct accept lists remembered per job
ERROR_KEY = "error"
DETAIL_KEYS = ("loc", "msg", "type")  # what a validation error tells the caller (no input)

# The logger keeps the name the documentation and users' LOGGING settings know; eager mode logs
# each job on it too, as a worker would.
log = logging.getLogger("django_gearman.worker")


class AttemptHooks(Protocol):
    """What ``execute`` tells one attempt's lifecycle (signals, the stored record; see
    ``signals.JobAttempt``): ``started`` once the call is verified and decoded (it returns an
    exception to refuse the job instead of running it), then ``succeeded`` or ``failed``."""

    def started(self, handle: str, fields: Mapping[str, str]) -> BaseException | None: ...

    def succeeded(self, result: bytes) -> None: ...

    def failed(self, exc: BaseException, refused: bool) -> None: ...

    def cancel_requested(self) -> bool: ...


class Lifecycle(Protocol):
    """Gives the hooks of each attempt of one job (``signals.JobLifecycle``), or ``None`` for
    an attempt that nothing observes, which then costs nothing."""

    def attempt(self, fields: Mapping[str, str]) -> AttemptHooks | None: ...


class JobError(WorkException):
    """A job ended in an error envelope; ``remote_type`` and ``refused`` are for logging."""

    def __init__(self, envelope: bytes, remote_type: str, refused: bool) -> None:
        super().__init__(envelope)
        self.remote_type = remote_type
        self.refused = refused


@dataclass(frozen=True, slots=True)
class Schemas:
    """A job function's call and result validators (both pydantic-backed, built once)."""

    call: CallSchema
    result: ResultSchema


@functools.cache
def schema_for(func: Callable[..., Any]) -> Schemas:
    """The schemas of a job function; raises ``SchemaError`` for annotations it cannot use."""
    return Schemas(CallSchema.from_function(func), ResultSchema.from_function(func))


def _safe_str(exc: BaseException) -> str:
    """``str(exc)``, even for an exception whose ``__str__`` itself fails."""
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__}: unprintable message>"


def _bounded(text: str, limit: int) -> str:
    """Keep error texts small: the tail of a traceback is where the cause is."""
    if len(text) <= limit:
        return text
    return f"...[{len(text) - limit} characters cut]...\n" + text[-limit:]


def _clipped(text: str, limit: int) -> str:
    """Keep error texts small: the head of a message says what went wrong."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"...[{len(text) - limit} characters cut]"


def remote_type_name(exc: BaseException) -> str:
    """``ValueError`` for builtins, ``package.module.Class`` otherwise."""
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


@dataclass(frozen=True, slots=True)
class JobSpec:
    """The codec view of one job (local or known only by name), cached per settings."""

    name: str
    wire_name: str
    request_serializer: Serializer
    result_serializer: Serializer
    accept_header: tuple[str, ...]
    request_policy: DecodePolicy
    result_policy: DecodePolicy
    signing_key: SigningKey | None
    compress_min_size: int | None
    max_payload_size: int
    eager: bool
    timeout: float
    send_tracebacks: bool = False
    func: Callable[..., Any] | None = None
    schema: Schemas | None = None
    contract: str | None = None  # NAME@VERSION, the call envelope's schema field (local jobs)
    payload_budget: int | None = None  # bytes; over it a payload is logged and counted
    # The built-in json and msgpack serializers write a call from ``CallSchema.to_wire``.
    plain_request: bool = False
    _negotiated: dict[tuple[str, ...], Serializer] = field(default_factory=dict, compare=False)

    # -- client side -------------------------------------------------------------------------

    def encode_call(
        self, args: Sequence[Any], kwargs: dict[str, Any], fields: Mapping[str, str] | None = None
    ) -> bytes:
        """Validate the arguments (nothing is sent if they are wrong) and encode the call;
        ``fields`` are extra header fields (the ``id`` of a stored job)."""
        body: dict[str, Any] = {"args": args, "kwargs": kwargs}
        if self.schema is not None:
            schema = self.schema.call
            valid_args, valid_kwargs = schema.validate_arguments(tuple(args), kwargs)
            # json and msgpack take the arguments as they are (models dumped in one pass);
            # any other serializer gets the plain `Call.to_wire` form, as the receiver reads it.
            body = (
                schema.arguments_to_wire(valid_args, valid_kwargs)
                if self.plain_request
                else Call(valid_args, valid_kwargs).to_wire()
            )
        with tracing.creating(self.wire_name, fields) as traced:  # adds traceparent, if any
            return self._encode(
                body, self.request_serializer, self.accept_header, traced, self.contract
            )

    def decode_result(self, blob: bytes) -> Any:
        """Verify and decode a result envelope, then validate it against the return annotation."""
        value = decode(blob, self.result_policy, job=self.wire_name).value
        if self.schema is not None:
            value = self.schema.result.validate(value)
        return value

    def decode_failure(self, blob: bytes) -> JobFailed:
        """Turn a WORK_EXCEPTION payload (an error envelope) into ``JobFailed``."""
        try:
            value = decode(blob, self.result_policy, job=self.wire_name).value
        except SerializerError as exc:
            text = blob[:200].decode("utf-8", "replace")
            return JobFailed(self.name, "UnreadableError", f"{exc} (raw: {text!r})")
        error = value.get(ERROR_KEY) if isinstance(value, Mapping) else None
        if not isinstance(error, Mapping):
            return JobFailed(self.name, "UnreadableError", f"not an error envelope: {value!r:.200}")
        remote_type = str(error.get("type", "Exception"))
        cls = JobRefused if error.get("refused") else JobFailed
        omitted = error.get("errors_omitted")
        return cls(
            self.name,
            remote_type,
            str(error.get("message", "")),
            str(error.get("traceback", "")),
            details=error.get("errors"),
            details_omitted=omitted if type(omitted) is int and omitted > 0 else 0,
        )

    def data_callback(self, callback: Callable[[Any], object]) -> Callable[[bytes], None]:
        """Adapt a caller's on_data(value) to the transport's on_data(bytes)."""

        def on_data(raw: bytes) -> None:
            callback(decode(raw, self.result_policy, job=self.wire_name).value)

        return on_data

    # -- worker side -------------------------------------------------------------------------

    def negotiate(self, accept: tuple[str, ...] | None) -> Serializer:
        """The job's result serializer if the caller reads it, else the first one it reads."""
        preferred = self.result_serializer
        if not accept or preferred.content_type in accept:
            return preferred
        found = self._negotiated.get(accept)
        if found is None:
            for content_type in accept:
                try:
                    candidate = get_serializer(content_type)
                except SerializerError:
                    continue
                if candidate.safe or content_type in self.request_policy.accept:
                    found = candidate
                    break
            else:
                raise NotNegotiable(
                    f"job {self.name!r} cannot write any content type the caller accepts "
                    f"({', '.join(accept)})"
                )
            if len(self._negotiated) < MAX_NEGOTIATED:  # accept lists come from the network
                self._negotiated[accept] = found
        return found

    def _encode(
        self,
        value: Any,
        serializer: Serializer,
        accept: tuple[str, ...] | None,
        fields: Mapping[str, str] | None = None,
        schema: str | None = None,
    ) -> bytes:
        blob = encode(
            value,
            serializer,
            job=self.wire_name,
            signing_key=self.signing_key,
            accept=accept or (),
            compress="zlib" if self.compress_min_size is not None else None,
            compress_min_bytes=self.compress_min_size or 0,
            fields=fields,
            schema=schema,
        )
        if self.payload_budget is not None:
            check_budget(self.name, len(blob), self.payload_budget, self.max_payload_size)
        if len(blob) > self.max_payload_size:
            raise PayloadTooLarge(
                f"job {self.name!r}: the encoded payload is {len(blob)} bytes, over "
                f"GEARMAN_MAX_PAYLOAD_SIZE ({self.max_payload_size})"
            )
        return blob

    def job_error(self, exc: BaseException, *, refused: bool) -> JobError:
        """The exception as an error envelope, ready to raise (WORK_EXCEPTION)."""
        return JobError(self.error_envelope(exc, refused=refused), remote_type_name(exc), refused)

    def error_envelope(self, exc: BaseException, *, refused: bool) -> bytes:
        """Encode an exception as the job error envelope (always JSON: every peer reads it).

        The caller learns the exception's type and message; the traceback (the worker's code
        and file paths) only with GEARMAN_SEND_TRACEBACKS, else the field is empty (the
        worker's log keeps it). Every part is bounded, so a hostile call cannot make its
        error larger than itself: a call with 200,000 unexpected arguments gets 20 of them
        listed and the others counted in ``errors_omitted``.
        """
        trace = "".join(traceback.format_exception(exc)) if self.send_tracebacks else ""
        error: dict[str, Any] = {
            "type": remote_type_name(exc),
            "message": _clipped(_safe_str(exc), MAX_ERROR_MESSAGE),
            "traceback": _bounded(trace, MAX_TRACEBACK),
        }
        if refused:
            error["refused"] = True
        if isinstance(exc, ValidationFailed):
            error["errors"] = [
                {key: _clipped(str(item.get(key, "")), MAX_DETAIL_TEXT) for key in DETAIL_KEYS}
                for item in exc.errors[:MAX_ERROR_DETAILS]
            ]
            if len(exc.errors) > MAX_ERROR_DETAILS:
                error["errors_omitted"] = len(exc.errors) - MAX_ERROR_DETAILS
        return encode({ERROR_KEY: error}, JSON, job=self.wire_name, signing_key=self.signing_key)


def execute(
    spec: JobSpec,
    payload: bytes,
    *,
    handle: str,
    send_status: Callable[[int, int], None] | None = None,
    send_data: Callable[[bytes], None] | None = None,
    send_warning: Callable[[bytes], None] | None = None,
    eager: bool = False,
    lifecycle: Lifecycle | None = None,
) -> bytes:
    """Run one job from its payload to its result envelope (the worker and eager mode).

    Raises ``JobError`` (a ``WorkException``) carrying an error envelope for every failure: a
    refused payload (bad signature, content type, shape, arguments) or the job's own exception.
    A bare payload (only for a job with ``unenveloped=``) is the job's one argument, and its
    result goes back as a bare body of the job's result serializer. ``lifecycle`` hears of the
    attempt once the envelope is verified (its header fields are then trustworthy).
    """
    if spec.func is None or spec.schema is None:
        raise WorkException(
            spec.error_envelope(LookupError(f"no local job {spec.name!r}"), refused=True)
        )
    enveloped = payload.startswith(MAGIC)
    hooks: AttemptHooks | None = None
    try:
        decoded = decode(payload, spec.request_policy, job=spec.wire_name)
        header = decoded.header
        check_call_version(spec.contract, header.schema)
        if lifecycle is not None:
            hooks = lifecycle.attempt(header.extra)
        if hooks is not None:
            refusal = hooks.started(handle, header.extra)
            if refusal is not None:
                raise spec.job_error(refusal, refused=True) from None
        if enveloped:
            args, kwargs = wire_arguments(decoded.value)
            result_serializer = spec.negotiate(header.accept or None)
        else:  # the job opted into bare payloads: the whole value is its one argument
            args, kwargs = (decoded.value,), {}
            result_serializer = spec.result_serializer
        args, kwargs = spec.schema.call.validate_arguments(args, kwargs)
    except (SerializerError, NotNegotiable) as exc:
        if hooks is not None:
            hooks.failed(exc, True)
        raise spec.job_error(exc, refused=True) from exc

    def data(value: Any) -> None:
        if send_data is not None:
            send_data(spec._encode(value, result_serializer, None))

    def warning(text: str) -> None:
        if send_warning is not None:
            send_warning(text.encode("utf-8"))

    probe = hooks.cancel_requested if hooks is not None else None
    context = JobContext(spec.name, handle, eager, send_status, data, warning, probe)
    trace = tracing.processing(spec.wire_name, header.extra, handle, len(payload))
    token = enter_job(context)
    try:
        value = spec.func(*args, **kwargs)
        if isinstance(value, CoroutineType):  # an ``async def`` job: run it to its end here
            value = run_coroutine(value)
        if not enveloped:  # a caller that does not speak envelopes gets the bare body back
            blob = result_serializer.encode(value)
        else:
            blob = spec._encode(value, result_serializer, None)
    except Exception as exc:
        trace.failed(exc)
        if hooks is not None:
            hooks.failed(exc, False)
        raise spec.job_error(exc, refused=False) from exc
    finally:
        leave_job(token)
        trace.end()
    if hooks is not None:
        hooks.succeeded(blob)
    return blob


_eager_handles = itertools.count(1)


def run_eagerly(
    spec: JobSpec,
    worker_spec: JobSpec,
    payload: bytes,
    options: SubmitOptions,
    lifecycle: Lifecycle | None = None,
) -> Any:
    """Eager mode: the worker's ``execute`` with ``worker_spec`` (the job's own spec, as a
    worker would use) in this process, then the client's decoding of the outcome with ``spec``.

    As in production, the job is logged as a worker logs it, and a background call's failure
    goes only there (and to the job's lifecycle): the caller gets its handle, never the
    job's exception. A foreground failure is raised, chained to the job's own exception (it
    never left this process) so that a test shows where the job failed.
    """
    if worker_spec.func is None:
        raise JobNotFound(
            f"job {spec.name!r} is served elsewhere (declared remote): eager mode runs only the "
            f"jobs defined in this project"
        )
    handle = f"eager:{next(_eager_handles)}"
    on_data = spec.data_callback(options.on_data) if options.on_data else None
    on_warning = options.on_warning

    def warning(raw: bytes) -> None:
        if on_warning is not None:
            on_warning(raw.decode("utf-8", "replace"))

    def status(numerator: int, denominator: int) -> None:
        if options.on_status is not None:
            options.on_status(numerator, denominator)

    started = time.monotonic()
    try:
        blob = execute(
            worker_spec,
            payload,
            handle=handle,
            send_status=status,
            send_data=on_data,
            send_warning=warning,
            eager=True,
            lifecycle=lifecycle,
        )
    except JobError as exc:
        log_job(worker_spec.name, handle, started, len(payload), exc)
        if options.background:
            return handle
        raise spec.decode_failure(exc.data) from exc.__cause__
    log_job(worker_spec.name, handle, started, len(payload), None)
    if options.background:
        return handle
    return spec.decode_result(blob)


def run_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Await an ``async def`` job from synchronous code, as ``django.tasks`` does.

    ``async_to_sync`` gives the coroutine an event loop and Django's thread-sensitive
    ``sync_to_async`` its thread. Where this thread already runs a loop (an eager submit from
    ``async`` code), the coroutine gets a loop of its own in another thread, with this
    thread's context (``current_job()``), and this thread waits, as for a synchronous job.
    Imported here: a worker without ``async def`` jobs never loads asyncio for them.
    """
    import asyncio
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import async_to_sync

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(_awaited)(coroutine)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gearman-async-job") as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()


async def _awaited(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return await coroutine


def log_job(
    name: str, handle: str, started: float, size: int, failure: BaseException | None
) -> None:
    """One line per job, never its data: what ran, where, how long, how it ended.

    Success at INFO; a refused call at WARNING with the reason (the message the caller got);
    a job that raised (or crashed its worker) at ERROR with the exception and its traceback.
    """
    if failure is None and not log.isEnabledFor(logging.INFO):  # nothing to build, then
        return
    level, outcome, exc_info, reason = logging.INFO, "ok", None, ""
    if isinstance(failure, JobError):
        cause = failure.__cause__ or failure
        if failure.refused:
            level, outcome = logging.WARNING, f"refused:{failure.remote_type}"
            reason = " reason=" + _clipped(_safe_str(cause), MAX_ERROR_MESSAGE)
        else:
            level, outcome = logging.ERROR, f"error:{failure.remote_type}"
            exc_info = (type(cause), cause, cause.__traceback__)
    elif failure is not None:
        level, outcome = logging.ERROR, "crash"
        exc_info = (type(failure), failure, failure.__traceback__)
    log.log(
        level,
        "job=%s handle=%s duration_ms=%.1f outcome=%s bytes_in=%d%s",
        name,
        handle,
        (time.monotonic() - started) * 1000,
        outcome,
        size,
        reason,
        exc_info=exc_info,
        extra={"job_name": name, "job_handle": handle, "job_outcome": outcome},
    )


# -- building and caching specs -------------------------------------------------------------

_specs: dict[tuple[Any, ...], JobSpec] = {}
_specs_lock = threading.Lock()


def _clear_specs() -> None:
    with _specs_lock:
        _specs.clear()


on_settings_reset(_clear_specs)


def _content_type(name: str) -> str:
    return get_serializer(name).content_type


def _build_spec(
    current: GearmanSettings,
    name: str,
    func: Callable[..., Any] | None,
    serializer_name: str,
    result_name: str,
    extra_accept: tuple[str, ...],
    unenveloped: str | None,
    contract: str | None = None,
    payload_budget: int | None = None,
) -> JobSpec:
    request = get_serializer(serializer_name)
    result = get_serializer(result_name)
    request_types = {request.content_type, *(_content_type(name) for name in extra_accept)}
    if unenveloped:
        request_types.add(_content_type(unenveloped))
    accept_header = tuple(dict.fromkeys([result.content_type, request.content_type, JSON]))
    keys = dict(current.signing_keys)
    common: dict[str, Any] = {
        "verify_keys": keys,
        "require_signature": current.require_signature,
        **_limits(current),
    }
    request_policy = DecodePolicy(
        accept=frozenset(request_types),
        unenveloped=_content_type(unenveloped) if unenveloped else None,
        **common,
    )
    result_policy = DecodePolicy(accept=frozenset(accept_header), **common)
    key_id = current.signing_key_id
    return JobSpec(
        name=name,
        wire_name=current.wire_name(name),
        request_serializer=request,
        result_serializer=result,
        accept_header=accept_header,
        request_policy=request_policy,
        result_policy=result_policy,
        signing_key=SigningKey(key_id, keys[key_id]) if key_id else None,
        compress_min_size=current.compress_min_size,
        max_payload_size=current.max_payload_size,
        eager=current.eager,
        timeout=current.timeout,
        send_tracebacks=current.send_tracebacks,
        func=func,
        schema=schema_for(func) if func is not None else None,
        contract=contract,
        payload_budget=effective_budget(payload_budget, current.max_payload_size),
        plain_request=type(request) in (JsonSerializer, MsgpackSerializer),
    )


def _limits(current: GearmanSettings) -> dict[str, Any]:
    return {
        "max_body_bytes": current.max_payload_size,
        "max_decoded_bytes": current.max_decompressed_size,
    }


def job_spec(job: GearmanJob[Any, Any], serializer: str | None = None) -> JobSpec:
    """The spec of a locally defined job (schema and function included).

    ``serializer`` overrides the request serializer on the client side only (e.g. to send json to
    a job that is migrating to msgpack); the worker always uses the job's own spec.
    """
    key = ("job", job.name, job.func, serializer)
    spec = _specs.get(key)
    if spec is None:
        current = get_settings()
        own = job.serializer or current.default_serializer
        spec = _build_spec(
            current,
            job.name,
            job.func,
            serializer or own,
            job.result_serializer or own,
            job.accept,
            job.unenveloped,
            contract_field(job.name, job.version) if job.version is not None else None,
            job.payload_budget,
        )
        with _specs_lock:
            _specs[key] = spec
    return spec


def remote_spec(name: str, serializer: str | None) -> JobSpec:
    """The spec of a job known only by name (another project or language): no schema."""
    key = ("remote", name, serializer)
    spec = _specs.get(key)
    if spec is None:
        current = get_settings()
        chosen = serializer or current.default_serializer
        spec = _build_spec(current, name, None, chosen, chosen, (), None)
        with _specs_lock:
            _specs[key] = spec
    return spec
