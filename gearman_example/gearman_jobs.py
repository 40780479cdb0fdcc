"""The example jobs. Each is a plain function; ``@gearman_job`` makes it submittable.

Job names are the import path without ``gearman_jobs``: ``gearman_example.reverse`` and so on.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from pydantic import BaseModel, Field

from django_gearman import current_job, gearman_job, progress

log = logging.getLogger(__name__)


@gearman_job
def reverse(sentence: str) -> str:
    """The original example: reverse a sentence."""
    return sentence[::-1]


@gearman_job
def background_counting(arg: object = None) -> int:
    """The original background example: count (briefly) and report how far it got."""
    total = 5
    for number in range(1, total + 1):
        progress(number, total)
        log.info("background_counting: %d of %d", number, total)
    return total


class OrderLine(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class Order(BaseModel):
    customer: str
    lines: list[OrderLine] = Field(min_length=1)


class Quote(BaseModel):
    customer: str
    total: Decimal
    items: int


@gearman_job(queue="typed")
def quote_order(order: Order, discount_percent: int = 0) -> Quote:
    """A typed job: the call and the result are validated against these annotations."""
    subtotal = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
    total = subtotal * (100 - discount_percent) / 100
    return Quote(
        customer=order.customer,
        total=total.quantize(Decimal("0.01")),
        items=sum(line.quantity for line in order.lines),
    )


@gearman_job(queue="long")
def long_task(steps: int = 20, step_seconds: float = 0.05) -> str:
    """A long job that reports its progress, step by step, to the caller."""
    if not 0 < steps <= 10_000 or not 0 <= step_seconds <= 5:
        raise ValueError("steps must be 1..10000 and step_seconds 0..5")
    job = current_job()
    for step in range(1, steps + 1):
        time.sleep(step_seconds)
        job.status(step, steps)
    job.warning(f"{steps} steps done")
    return f"finished {steps} steps"
