"""Jobs used by the Django integration tests (served by `manage.py gearman_worker` subprocesses)."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from django_gearman import current_job, gearman_job, progress


@gearman_job
def echo(data: Any) -> Any:
    """The 0.2 style: one argument, whatever the caller sent."""
    return data


@gearman_job
def add(one: int, two: int, three: int = 0) -> int:
    return one + two + three


@gearman_job
def untyped_join(*parts, sep="-"):  # no annotations on purpose: anything goes
    return sep.join(str(part) for part in parts)


@gearman_job
def reserved_params(background: bool, unique: bool) -> list[bool]:
    """A job whose parameters carry reserved submit_job names."""
    return [background, unique]


@gearman_job
def with_data_param(data: dict[str, int]) -> int:
    return sum(data.values())


class Point(BaseModel):
    x: int
    y: int


@gearman_job
def shift(point: Point, by: int = 1) -> Point:
    return Point(x=point.x + by, y=point.y + by)


@gearman_job
def wrong_result() -> int:
    """Returns something that does not match its annotation."""
    return "not a number"  # type: ignore[return-value]


@gearman_job
def decimal_double(value: Decimal) -> Decimal:
    return value * 2


class Boom(RuntimeError):
    """Raised by `explode`, to check the remote type on the client."""


@gearman_job
def explode(message: str) -> None:
    raise Boom(message)


@gearman_job(serializer="msgpack")
def msgpack_only(value: Any) -> Any:
    return value


@gearman_job(serializer="msgpack", accept=["json"])
def msgpack_accepting_json(value: Any) -> Any:
    return value


@gearman_job(result_serializer="msgpack")
def bytes_result(size: int) -> bytes:
    return b"\x00" * size


@gearman_job(queue="reports")
def report_progress(steps: int) -> int:
    for step in range(1, steps + 1):
        progress(step, steps)
    current_job().data({"done": steps})
    current_job().warning("all steps done")
    return steps


@gearman_job(queue="slow")
def slow_job(seconds: float, marker: str = "") -> str:
    """Sleeps; writes its pid to `marker` first (and `marker`.done at the end) so a test knows
    which worker process runs it and whether it finished."""
    if marker:
        Path(marker).write_text(str(os.getpid()))
    deadline = time.monotonic() + min(seconds, 30.0)
    while time.monotonic() < deadline:
        time.sleep(0.02)
    if marker:
        Path(marker + ".done").write_text(str(os.getpid()))
    return f"slept {seconds}"


@gearman_job(name="tests.custom-name")
def renamed() -> str:
    return "renamed"


@gearman_job(unenveloped="text/plain", result_serializer="text")
def shout(text: str) -> str:
    """Callable by the `gearman` command line tool: bare text in, bare text out."""
    return text.upper()
