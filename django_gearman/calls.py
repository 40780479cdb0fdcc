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
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
)
from serializers.envelope import MAGIC

from .conf import GearmanSettings, get_settings, on_settings_reset
from .exceptions import JobFailed, JobRefused, NotNegotiable
from .protocol import WorkException
from .reporting import JobContext, enter_job, leave_job

if TYPE_CHECKING:
    from .declaration import GearmanJob, SubmitOptions

JSON = "application/json"
MAX_ERROR_MESSAGE = 8 * 1024  # characters of an exception message in an error envelope
MAX_TRACEBACK = 64 * 1024  # characters of traceback text in an error envelope
MAX_NEGOTIATED = 64  # distinct accept lists remembered per job
ERROR_KEY = "error"


class AttemptHooks(Protocol):
    """What ``execute`` tells the job's lifecycle (signals, the stored record; see
    ``signals.JobAttempt``): ``started`` once the call is verified and decoded (it returns an
    exception to refuse the job instead of running it), then ``succeeded`` or ``failed``."""

    def started(self, handle: str, fields: Mapping[str, str]) -> BaseException | None: ...

    def succeeded(self, result: bytes) -> None: ...

    def failed(self, exc: BaseException, refused: bool) -> None: ...

    def cancel_requested(self) -> bool: ...


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
    func: Callable[..., Any] | None = None
    schema: Schemas | None = None
    _negotiated: dict[tuple[str, ...], Serializer] = field(default_factory=dict, compare=False)

    @property
    def _plain_request(self) -> bool:
        """The built-in json and msgpack serializers write a call from ``CallSchema.to_wire``."""
        return type(self.request_serializer) in (JsonSerializer, MsgpackSerializer)

    # -- client side -------------------------------------------------------------------------

    def encode_call(
        self, args: Sequence[Any], kwargs: dict[str, Any], fields: Mapping[str, str] | None = None
    ) -> bytes:
        """Validate the arguments (nothing is sent if they are wrong) and encode the call;
        ``fields`` are extra header fields (the ``id`` of a stored job)."""
        body: dict[str, Any] = {"args": args, "kwargs": kwargs}
        if self.schema is not None:
            call = self.schema.call.validate(body)
            # json and msgpack take the arguments as they are (models dumped in one pass);
            # any other serializer gets the plain `Call.to_wire` form, as the receiver reads it.
            body = self.schema.call.to_wire(call) if self._plain_request else call.to_wire()
        return self._encode(body, self.request_serializer, self.accept_header, fields)

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
        return cls(
            self.name,
            remote_type,
            str(error.get("message", "")),
            str(error.get("traceback", "")),
            details=error.get("errors"),
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
        )
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
        """Encode an exception as the job error envelope (always JSON: every peer reads it)."""
        error: dict[str, Any] = {
            "type": remote_type_name(exc),
            "message": _bounded(_safe_str(exc), MAX_ERROR_MESSAGE),
            "traceback": _bounded("".join(traceback.format_exception(exc)), MAX_TRACEBACK),
        }
        if refused:
            error["refused"] = True
        if isinstance(exc, ValidationFailed):
            error["errors"] = [dict(item) for item in exc.errors]
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
    hooks: AttemptHooks | None = None,
) -> bytes:
    """Run one job from its payload to its result envelope (the worker and eager mode).

    Raises ``JobError`` (a ``WorkException``) carrying an error envelope for every failure: a
    refused payload (bad signature, content type, shape, arguments) or the job's own exception.
    A bare payload (only for a job with ``unenveloped=``) is the job's one argument, and its
    result goes back as a bare body of the job's result serializer. ``hooks`` hear of the
    attempt once the envelope is verified (its header fields are then trustworthy).
    """
    if spec.func is None:
        raise WorkException(
            spec.error_envelope(LookupError(f"no local job {spec.name!r}"), refused=True)
        )
    enveloped = payload.startswith(MAGIC)
    started = False
    try:
        decoded = decode(payload, spec.request_policy, job=spec.wire_name)
        if hooks is not None:
            refusal = hooks.started(handle, decoded.fields)
            if refusal is not None:
                raise spec.job_error(refusal, refused=True) from None
            started = True
        if enveloped:
            call = Call.from_wire(decoded.value)
            result_serializer = spec.negotiate(decoded.accept or None)
        else:  # the job opted into bare payloads: the whole value is its one argument
            call = Call((decoded.value,), {})
            result_serializer = spec.result_serializer
        if spec.schema is not None:
            call = spec.schema.call.validate_call(call)
    except (SerializerError, NotNegotiable) as exc:
        if started and hooks is not None:
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
    token = enter_job(context)
    try:
        value = spec.func(*call.args, **call.kwargs)
        if not enveloped:  # a caller that does not speak envelopes gets the bare body back
            blob = result_serializer.encode(value)
        else:
            blob = spec._encode(value, result_serializer, None)
    except Exception as exc:
        if hooks is not None:
            hooks.failed(exc, False)
        raise spec.job_error(exc, refused=False) from exc
    finally:
        leave_job(token)
    if hooks is not None:
        hooks.succeeded(blob)
    return blob


_eager_handles = itertools.count(1)


def run_eagerly(
    spec: JobSpec,
    worker_spec: JobSpec,
    payload: bytes,
    options: SubmitOptions,
    hooks: AttemptHooks | None = None,
) -> Any:
    """Eager mode: the worker's ``execute`` with ``worker_spec`` (the job's own spec, as a
    worker would use) in this process, then the client's decoding of the outcome with ``spec``."""
    handle = f"eager:{next(_eager_handles)}"
    on_data = spec.data_callback(options.on_data) if options.on_data else None
    on_warning = options.on_warning

    def warning(raw: bytes) -> None:
        if on_warning is not None:
            on_warning(raw.decode("utf-8", "replace"))

    def status(numerator: int, denominator: int) -> None:
        if options.on_status is not None:
            options.on_status(numerator, denominator)

    try:
        blob = execute(
            worker_spec,
            payload,
            handle=handle,
            send_status=status,
            send_data=on_data,
            send_warning=warning,
            eager=True,
            hooks=hooks,
        )
    except WorkException as exc:
        raise spec.decode_failure(exc.data) from None
    if options.background:
        return handle
    return spec.decode_result(blob)


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
        func=func,
        schema=schema_for(func) if func is not None else None,
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
