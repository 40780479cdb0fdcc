"""Server address strings: ``host``, ``host:port``, ``[v6addr]`` and ``[v6addr]:port``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from .transport_errors import InvalidServerAddress

DEFAULT_PORT = 4730

_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$")


class ServerAddress(NamedTuple):
    """A parsed server address; ``str()`` gives back a canonical ``host:port`` form."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _parse_port(text: str, original: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise InvalidServerAddress(f"invalid port in server address {original!r}")
    port = int(text)
    if not 0 < port < 65536:
        raise InvalidServerAddress(f"port out of range 1-65535 in server address {original!r}")
    return port


def parse_server(address: str | tuple[str, int] | ServerAddress) -> ServerAddress:
    """Parse one address; a malformed one raises ``InvalidServerAddress`` (a ``ValueError``)."""
    if isinstance(address, tuple):
        if len(address) != 2 or not isinstance(address[0], str) or not isinstance(address[1], int):
            raise InvalidServerAddress(f"server address tuple must be (host, port): {address!r}")
        return parse_server(
            f"[{address[0]}]:{address[1]}" if ":" in address[0] else f"{address[0]}:{address[1]}"
        )
    if not isinstance(address, str):
        raise InvalidServerAddress(f"server address must be a string, not {type(address).__name__}")
    text = address.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidServerAddress(f"missing ']' in server address {address!r}")
        host, rest = text[1:end], text[end + 1 :]
        if not host or not _IPV6.match(host) or ":" not in host:
            raise InvalidServerAddress(f"invalid IPv6 host in server address {address!r}")
        if rest == "":
            return ServerAddress(host, DEFAULT_PORT)
        if not rest.startswith(":"):
            raise InvalidServerAddress(f"unexpected text after ']' in server address {address!r}")
        return ServerAddress(host, _parse_port(rest[1:], address))
    if text.count(":") > 1:
        raise InvalidServerAddress(f"IPv6 server address must be in brackets: {address!r}")
    host, sep, port_text = text.partition(":")
    if not host or not _HOSTNAME.match(host):
        raise InvalidServerAddress(f"invalid host in server address {address!r}")
    return ServerAddress(host, _parse_port(port_text, address) if sep else DEFAULT_PORT)


def parse_servers(
    addresses: str | ServerAddress | Iterable[str | ServerAddress | tuple[str, int]],
) -> list[ServerAddress]:
    """Parse one address string or a list of them; an empty list is an error."""
    if isinstance(addresses, str | ServerAddress):
        return [parse_server(addresses)]
    if not isinstance(addresses, Iterable):
        raise InvalidServerAddress(f"servers must be a list of addresses, not {addresses!r}")
    items = list(addresses)
    if not items:
        raise InvalidServerAddress("at least one server address is required")
    return [parse_server(item) for item in items]
