"""Gearman transport: sans-I/O protocol core, sync client, worker, admin client, asyncio client.

Standard library only; importing this package never imports Django. Other packages import the
transport only through the names below, never its submodules, so the modules may be reorganised.
``AsyncClient`` is loaded on first use: a worker or a sync client never pays for ``asyncio``.
"""

from typing import TYPE_CHECKING, Any

from .address import DEFAULT_PORT, ServerAddress, parse_server, parse_servers
from .admin_client import AdminClient, FunctionStatus, PriorityStatus, QueuedJob, WorkerInfo
from .backoff import Backoff
from .packets import Packet, PacketParser, PacketType
from .sync_client import Client, JobStatus
from .tracking import MAX_UNIQUE_SIZE, JobRequest, JobResult, Priority
from .transport_errors import (
    ConnectionLost,
    GearmanError,
    InvalidServerAddress,
    JobTimeout,
    NoServerAvailable,
    OutcomeUnknown,
    ProtocolError,
    ServerError,
    WorkException,
)
from .worker_loop import Worker, WorkerJob

if TYPE_CHECKING:
    from .async_client import AsyncClient

__all__ = [
    "DEFAULT_PORT",
    "MAX_UNIQUE_SIZE",
    "AdminClient",
    "AsyncClient",
    "Backoff",
    "Client",
    "ConnectionLost",
    "FunctionStatus",
    "GearmanError",
    "InvalidServerAddress",
    "JobRequest",
    "JobResult",
    "JobStatus",
    "JobTimeout",
    "NoServerAvailable",
    "OutcomeUnknown",
    "Packet",
    "PacketParser",
    "PacketType",
    "Priority",
    "PriorityStatus",
    "ProtocolError",
    "QueuedJob",
    "ServerAddress",
    "ServerError",
    "WorkException",
    "Worker",
    "WorkerInfo",
    "WorkerJob",
    "parse_server",
    "parse_servers",
]


def __getattr__(name: str) -> Any:
    """Import the asyncio client on first access (and only then ``asyncio``)."""
    if name == "AsyncClient":
        from .async_client import AsyncClient

        globals()[name] = AsyncClient
        return AsyncClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
