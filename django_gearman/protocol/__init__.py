"""Gearman transport: sans-I/O protocol core, sync client, worker, admin client, asyncio client.

Standard library only; importing this package never imports Django.
"""

from .address import DEFAULT_PORT, ServerAddress, parse_server, parse_servers
from .admin import AdminClient, FunctionStatus, PriorityStatus, QueuedJob, WorkerInfo
from .aio import AsyncClient
from .client import Client, JobStatus
from .errors import (
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
from .jobs import JobRequest, JobResult, Priority
from .packets import Packet, PacketParser, PacketType
from .worker import Worker, WorkerJob

__all__ = [
    "DEFAULT_PORT",
    "AdminClient",
    "AsyncClient",
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
