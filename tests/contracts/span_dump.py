"""OpenTelemetry's SDK with its in-memory exporter, in a process the test cannot reach into.

Every finished span goes to the ``InMemorySpanExporter`` and, as one JSON line, to a file the
test reads (the worker is a subprocess, so its memory is not the test's).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """The parts of a span the tests check, in plain JSON."""
    context = span.get_span_context()
    assert context is not None
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "links": [f"{link.context.span_id:016x}" for link in span.links],
        "attributes": dict(span.attributes or {}),
        "status": span.status.status_code.name,
    }


class _FileCopy(SpanExporter):
    """Appends each finished span to a file, one line per span, as the in-memory exporter
    receives it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def export(self, spans: Any) -> SpanExportResult:
        with self.lock, self.path.open("a") as out:
            for span in spans:
                out.write(json.dumps(span_record(span)) + "\n")
        return SpanExportResult.SUCCESS


def install(path: str) -> InMemorySpanExporter:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(_FileCopy(Path(path))))
    trace.set_tracer_provider(provider)
    return memory
