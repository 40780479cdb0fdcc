"""Jobs of the contract tests: typed calls for the schema export, a coalescing probe, a traced job.

Imported by the test process (to submit) and by the worker subprocesses of
``tests.contracts.settings``; names start with ``contracts.``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel

from django_gearman import gearman_job, progress

RELEASE_WAIT_SECONDS = 60.0  # the coalescing job gives up waiting for the test after this


class Line(BaseModel):
    sku: str
    quantity: int
    unit_price: Decimal


class Quote(BaseModel):
    customer: str
    total: Decimal
    lines: int
    reference: uuid.UUID


@gearman_job(name="contracts.quote", version=2)
def quote(
    customer: str,
    /,
    lines: list[Line],
    due: dt.datetime | None = None,
    *,
    discount_percent: int = 0,
    tags: dict[str, str] | None = None,
) -> Quote:
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    total = total * (100 - discount_percent) / 100
    return Quote(customer=customer, total=total, lines=len(lines), reference=uuid.uuid4())


@gearman_job(name="contracts.coalesced")
def coalesced(options: dict[str, int], ratio: float, label: str = "x") -> int:
    """Appends one line per execution to $TEST_CONTRACTS_RUNS, then reports progress until the
    file $TEST_CONTRACTS_RELEASE exists: the test knows each caller is attached to this job
    once its on_status callback fired, and only then lets the job finish."""
    runs = Path(os.environ["TEST_CONTRACTS_RUNS"])
    with runs.open("a") as log:
        log.write(f"{sorted(options.items())} {ratio} {label}\n")
    release = Path(os.environ["TEST_CONTRACTS_RELEASE"])
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    step = 0
    while not release.exists() and time.monotonic() < deadline:
        step += 1
        progress(step, 1000)
        time.sleep(0.05)
    return sum(options.values())


@gearman_job(name="contracts.traced")
def traced(text: str) -> str:
    """Opens a span of its own (when OpenTelemetry is configured), a child of the process span."""
    try:
        from opentelemetry import trace
    except ImportError:
        return text.upper()
    with trace.get_tracer("tests.contracts").start_as_current_span("inside the job"):
        return text.upper()


@gearman_job(name="contracts.failing_traced")
def failing_traced(text: str) -> str:
    raise ValueError(f"refusing {text}")


@gearman_job(name="contracts.sized", payload_budget=200)
def sized(blob: str) -> int:
    return len(blob)
