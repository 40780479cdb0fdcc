"""Gearman transport: sans-I/O protocol core, sync client, worker, admin client, asyncio client.

Standard library only; importing this package never imports Django.
"""

from .address import DEFAULT_PORT, ServerAddress, parse_server, parse_servers
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

__all__ = [
    "DEFAULT_PORT",
    "Client",
    "ConnectionLost",
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
    "ProtocolError",
    "ServerAddress",
    "ServerError",
    "WorkException",
    "parse_server",
    "parse_servers",
]
