"""What every Gearman server says about itself, through its admin text protocol.

One snapshot asks each server for ``status``, ``prioritystatus``, ``workers`` and ``version``,
all servers at once (a thread each), each bounded by the console timeout. A server that does not
answer becomes a snapshot with ``up=False`` and a short reason, never an exception: the status
page and the metrics show a dead server as dead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from django_gearman.protocol import (
    AdminClient,
    FunctionStatus,
    GearmanError,
    PriorityStatus,
    WorkerInfo,
)

MAX_PARALLEL = 8  # servers asked at the same time
MAX_REASON = 200  # characters of a dead server's reason


@dataclass(frozen=True, slots=True)
class FunctionRow:
    """One Gearman function on one server. ``total`` counts running jobs too (gearmand's view);
    ``waiting`` = high + normal + low is what no worker has taken yet."""

    function: str
    job: str | None  # the registered job behind this function name, if this process knows it
    total: int
    running: int
    workers: int
    high: int
    normal: int
    low: int

    @property
    def waiting(self) -> int:
        return self.high + self.normal + self.low


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """One connection that registered functions (gearmand's ``workers`` answer)."""

    fd: int
    ip: str
    client_id: str
    functions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServerSnapshot:
    address: str
    up: bool
    reason: str = ""
    version: str = ""
    functions: tuple[FunctionRow, ...] = ()
    workers: tuple[WorkerRow, ...] = ()
    other_connections: int = 0  # clients and idle connections (no registered function)

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``gearman_status --json`` (``waiting`` included)."""
        data = asdict(self)
        data["functions"] = [{**asdict(f), "waiting": f.waiting} for f in self.functions]
        data["workers"] = [{**asdict(w), "functions": list(w.functions)} for w in self.workers]
        return data


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    taken_at: dt.datetime
    servers: tuple[ServerSnapshot, ...]

    @property
    def servers_up(self) -> int:
        return sum(server.up for server in self.servers)


def merge_function_rows(
    statuses: Iterable[FunctionStatus],
    priorities: Iterable[PriorityStatus],
    job_of: Callable[[str], str | None],
) -> tuple[FunctionRow, ...]:
    """Join ``status`` and ``prioritystatus`` by function (a function missing from the second,
    e.g. one created between the two commands, counts all its waiting jobs as normal)."""
    by_function = {p.function: p for p in priorities}
    rows = []
    for status in sorted(statuses):
        priority = by_function.get(status.function)
        waiting = max(status.queued - status.running, 0)
        high, normal, low = (
            (priority.high, priority.normal, priority.low) if priority else (0, waiting, 0)
        )
        rows.append(
            FunctionRow(
                function=status.function,
                job=job_of(status.function),
                total=status.queued,
                running=status.running,
                workers=status.available_workers,
                high=high,
                normal=normal,
                low=low,
            )
        )
    return tuple(rows)


def worker_rows(infos: Sequence[WorkerInfo]) -> tuple[tuple[WorkerRow, ...], int]:
    """(connections with registered functions, count of the other connections)."""
    workers = [
        WorkerRow(info.fd, info.ip, info.client_id, tuple(sorted(info.functions)))
        for info in infos
        if info.functions
    ]
    others = sum(1 for info in infos if not info.functions)
    return tuple(sorted(workers, key=lambda w: (w.ip, w.fd))), others


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def ask_server(address: str, timeout: float, job_of: Callable[[str], str | None]) -> ServerSnapshot:
    """One server's snapshot; an unreachable or misbehaving server gives ``up=False``."""
    try:
        with AdminClient(address, timeout=timeout) as admin:
            statuses = admin.status()
            priorities = admin.priority_status()
            infos = admin.workers()
            version = admin.version()
    except (GearmanError, OSError, ValueError) as exc:
        return ServerSnapshot(address=address, up=False, reason=_reason(exc))
    workers, others = worker_rows(infos)
    return ServerSnapshot(
        address=address,
        up=True,
        version=version.strip(),
        functions=merge_function_rows(statuses, priorities, job_of),
        workers=workers,
        other_connections=others,
    )


def registered_job_names() -> Callable[[str], str | None]:
    """A lookup from Gearman function name to the job registered under it in this process."""
    from django_gearman import registry
    from django_gearman.conf import get_settings

    wire_name = get_settings().wire_name
    names = {wire_name(job.name): job.name for job in registry}
    return names.get


def take_snapshot(
    servers: Sequence[str],
    timeout: float,
    job_of: Callable[[str], str | None] | None = None,
) -> StatusSnapshot:
    """Ask every server at once; the snapshot lists them in the order given."""
    lookup = job_of if job_of is not None else registered_job_names()
    taken_at = dt.datetime.now(dt.UTC)
    if len(servers) <= 1:
        snapshots = [ask_server(server, timeout, lookup) for server in servers]
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(servers))) as pool:
            snapshots = list(pool.map(lambda server: ask_server(server, timeout, lookup), servers))
    return StatusSnapshot(taken_at=taken_at, servers=tuple(snapshots))
