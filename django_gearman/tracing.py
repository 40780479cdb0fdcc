"""W3C trace context across Gearman, with OpenTelemetry when ``opentelemetry-api`` is installed.

A client writes the ``traceparent`` (and a ``tracestate`` that fits the envelope grammar) of a
PRODUCER span ``create FUNCTION`` into the call envelope's header, where the signature covers it:
no intermediary can change it. The worker restores it once the envelope is verified and runs the
job in a CONSUMER span ``process FUNCTION``, a child of the caller's span that also links to it,
as OpenTelemetry's messaging conventions describe (``messaging.system`` = ``gearman``).

Without ``opentelemetry-api`` nothing is imported and nothing is written: every function here
returns at once. OpenTelemetry is looked up on first use, not when this module is imported.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

SYSTEM = "gearman"
TRACE_FIELDS = ("traceparent", "tracestate")
_FIELD_VALUE = re.compile(r"^[!-~]{1,512}$")  # an envelope header value: printable, no space


@functools.cache
def _otel() -> Any:
    """The OpenTelemetry API modules, or None when the API is not installed."""
    try:
        from opentelemetry import context, metrics, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:
        return None
    return _Api(context, trace, metrics, TraceContextTextMapPropagator())


class _Api:
    """The few OpenTelemetry objects this module uses, found once."""

    def __init__(self, context: Any, trace: Any, metrics: Any, propagator: Any) -> None:
        self.context = context
        self.trace = trace
        self.metrics = metrics
        self.propagator = propagator
        # A proxy until the application installs an SDK; it then follows the real provider.
        self._tracer = trace.get_tracer("django_gearman")

        self._idle = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
        # get_tracer_provider() reads os.environ on every call until a provider is set (about
        # 1 us); the API's own global answers the same for the usual set_tracer_provider().
        self._from_environment = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
        self._has_global = hasattr(trace, "_TRACER_PROVIDER")  # the API's global, if it has one

    def tracer(self) -> Any:
        return self._tracer

    def recording(self) -> bool:
        """Whether an SDK is installed: without one no span is ever valid, so the (costly)
        no-op spans are skipped altogether."""
        provider = getattr(self.trace, "_TRACER_PROVIDER", None)
        if provider is None:
            if not self._from_environment and self._has_global:
                return False
            provider = self.trace.get_tracer_provider()
        return not isinstance(provider, self._idle)


def _attributes(function: str, operation: str) -> dict[str, Any]:
    return {
        "messaging.system": SYSTEM,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": function,
    }


def creating(
    function: str, fields: Mapping[str, str] | None
) -> contextlib.AbstractContextManager[Mapping[str, str] | None]:
    """Around writing one call of ``function``: a ``create`` span, and the header ``fields``
    with its trace context added (``fields`` unchanged when there is no OpenTelemetry SDK)."""
    api = _otel()
    if api is None or not api.recording():
        return _UNTRACED if fields is None else contextlib.nullcontext(fields)
    return _create_span(api, function, fields)


_UNTRACED: contextlib.nullcontext[None] = contextlib.nullcontext()  # reusable: it holds nothing


@contextlib.contextmanager
def _create_span(
    api: Any, function: str, fields: Mapping[str, str] | None
) -> Iterator[Mapping[str, str] | None]:
    kind = api.trace.SpanKind.PRODUCER
    name = f"create {function}"
    with api.tracer().start_as_current_span(
        name, kind=kind, attributes=_attributes(function, "create")
    ) as span:
        carrier: dict[str, str] = {}
        if span.get_span_context().is_valid:
            api.propagator.inject(carrier)
        extra: dict[str, str] = {}
        for key in TRACE_FIELDS:
            value = header_value(key, carrier[key]) if key in carrier else None
            if value is not None:
                extra[key] = value
        yield {**(fields or {}), **extra} if extra else fields


def header_value(key: str, value: str) -> str | None:
    """The value as an envelope header carries it (printable ASCII, no spaces), or None:
    tracestate may hold spaces around its commas (dropped) or inside a value (then it is left
    out)."""
    if key == "tracestate":
        value = ",".join(part.strip() for part in value.split(","))
    return value if _FIELD_VALUE.fullmatch(value) else None


class Processing:
    """The ``process`` span of one job in a worker, current while the job runs."""

    def __init__(self, api: Any, span: Any, token: Any) -> None:
        self._api = api
        self._span = span
        self._token = token

    def failed(self, exc: BaseException) -> None:
        """Record the job's exception on its span (the span ends in ``end``)."""
        self._span.record_exception(exc)
        trace = self._api.trace
        self._span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))

    def end(self) -> None:
        self._api.context.detach(self._token)
        self._span.end()


class _NotTraced:
    """``Processing`` without OpenTelemetry: does nothing."""

    def failed(self, exc: BaseException) -> None:
        pass

    def end(self) -> None:
        pass


NOT_TRACED = _NotTraced()


def processing(
    function: str, fields: Mapping[str, str], handle: str, size: int
) -> Processing | _NotTraced:
    """Start the ``process`` span of a job whose envelope was verified (so ``fields`` were
    signed by the caller, if signatures are on), as a child of the caller's context."""
    api = _otel()
    if api is None or not api.recording():
        return NOT_TRACED
    carrier = {key: fields[key] for key in TRACE_FIELDS if key in fields}
    parent = api.propagator.extract(carrier) if carrier else None
    links = []
    if parent is not None:
        caller = api.trace.get_current_span(parent).get_span_context()
        if caller.is_valid:
            links.append(api.trace.Link(caller))
    attributes = {
        **_attributes(function, "process"),
        "messaging.message.id": handle,
        "messaging.message.body.size": size,
    }
    span = api.tracer().start_span(
        f"process {function}",
        context=parent,
        kind=api.trace.SpanKind.CONSUMER,
        attributes=attributes,
        links=links,
    )
    token = api.context.attach(api.trace.set_span_in_context(span))
    return Processing(api, span, token)


@functools.cache
def _budget_counter() -> Any:
    api = _otel()
    if api is None:
        return None
    meter = api.metrics.get_meter("django_gearman")
    return meter.create_counter(
        "gearman.payload.over_budget",
        unit="{payload}",
        description="payloads sent over their job's payload budget (before the hard limit)",
    )


def count_over_budget(function: str, size: int) -> None:
    """Add one to the OpenTelemetry counter of payloads over budget (if OpenTelemetry is here)."""
    counter = _budget_counter()
    if counter is not None:
        counter.add(1, {"messaging.system": SYSTEM, "messaging.destination.name": function})
