"""What the sync and asyncio clients share: settings, deadlines, server choice, job preparation."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from .address import parse_servers
from .packets import DEFAULT_MAX_PACKET
from .ring import ServerRing
from .tracking import DataCallback, JobRequest, PendingJob, Priority, StatusCallback


def prepare_job(
    function: str | bytes,
    data: bytes | str,
    unique: str | bytes | None,
    priority: Priority,
    background: bool,
    on_status: StatusCallback | None,
    on_data: DataCallback | None,
    on_warning: DataCallback | None,
) -> PendingJob:
    """The one way ``submit`` (sync and async) turns its arguments into a job ready to send.

    Bad arguments raise TypeError / ValueError / ProtocolError here, before any I/O.
    """
    request = JobRequest(
        function, data, unique, priority, background, on_status, on_data, on_warning
    )
    return PendingJob(request)


def prepare_jobs(requests: Iterable[JobRequest]) -> list[PendingJob]:
    """``submit_many``'s jobs, validated (all of them) before any is sent."""
    return [PendingJob(request) for request in requests]


class ClientBase:
    """Settings and server choice shared by ``Client`` and ``AsyncClient``.

    ``ack_timeout`` (default: ``connect_timeout``): a server that acknowledges nothing for this
    long while submissions wait for JOB_CREATED is taken to be hung: it is avoided (see
    ``ServerRing``) and the jobs written to it end at once with ``JobTimeout`` (they may still
    run if the server wakes up, so they are never re-sent), not at the end of their timeout.
    """

    def __init__(
        self,
        servers: str | Sequence[str],
        *,
        connect_timeout: float = 2.0,
        retries: int = 1,
        backoff: float = 0.05,
        max_backoff: float = 1.0,
        down_interval: float = 1.0,
        max_down_interval: float = 30.0,
        ack_timeout: float | None = None,
        default_timeout: float = 30.0,
        max_packet: int = DEFAULT_MAX_PACKET,
    ) -> None:
        self.servers = parse_servers(servers)
        if connect_timeout <= 0 or default_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if ack_timeout is not None and ack_timeout <= 0:
            raise ValueError("ack_timeout must be positive")
        self.ack_timeout = connect_timeout if ack_timeout is None else ack_timeout
        self.ring = ServerRing(
            self.servers,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            down_interval=down_interval,
            max_down_interval=max_down_interval,
            probe_timeout=connect_timeout + self.ack_timeout,
        )
        self.connect_timeout = connect_timeout
        self.default_timeout = default_timeout
        self.max_packet = max_packet

    def _deadline(self, timeout: float | None) -> float:
        if timeout is None:
            return time.monotonic() + self.default_timeout
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        return time.monotonic() + timeout

    def _connect_timeout(self, deadline: float) -> float:
        return min(self.connect_timeout, max(deadline - time.monotonic(), 0.001))

    def _group_by_server(self, jobs: list[PendingJob]) -> list[tuple[list[int], list[PendingJob]]]:
        """(server plan, jobs) per first server (see ``ServerRing.plan``); job order kept."""
        if len(self.servers) == 1:
            return [([0], jobs)]
        groups: dict[int, tuple[list[int], list[PendingJob]]] = {}
        for job in jobs:
            plan = self.ring.plan(job.unique)
            groups.setdefault(plan[0], (plan, []))[1].append(job)
        return list(groups.values())
