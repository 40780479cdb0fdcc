"""Jobs of the hostile-input tests, served by a worker that requires signatures."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel

from django_gearman import gearman_job


@gearman_job(name="rel.echo")
def echo(value: Any) -> Any:
    return value


@gearman_job(name="rel.other")
def other(value: Any) -> Any:
    """A second job: a call signed for ``rel.echo`` must not be accepted here."""
    return value


@gearman_job(name="rel.pid")
def pid() -> int:
    """The serving process's pid: a good job after each bad one, and proof of who served it."""
    return os.getpid()


class Item(BaseModel):
    sku: str
    quantity: int


class Order(BaseModel):
    id: int
    items: list[Item]


@gearman_job(name="rel.order")
def order_total(order: Order, discount: int = 0) -> int:
    """Typed arguments: bad input must come back as validation errors with field paths."""
    return sum(item.quantity for item in order.items) - discount


@gearman_job(name="rel.pickled", serializer="pickle")
def pickled(value: Any) -> Any:
    """The one job that declares pickle (signed, as the settings require)."""
    return value


@gearman_job(name="rel.echo_msgpack", serializer="msgpack")
def echo_msgpack(value: Any) -> Any:
    """Reads msgpack, so hostile msgpack bodies reach the msgpack decoder."""
    return value
