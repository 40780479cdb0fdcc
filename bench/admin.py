"""Read gearmand's queue counters over the text admin protocol, to see when workers are ready
and when a queue has drained, without touching the code under test."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.wire import split_address


class AdminError(RuntimeError):
    """The admin connection failed or a wait on the server's counters timed out."""


@dataclass(frozen=True)
class FunctionStatus:
    queued: int
    running: int
    workers: int


class AdminConnection:
    """One persistent admin connection: polling it often must not open a socket each time."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(split_address(address), timeout=timeout)

    def status(self) -> dict[str, FunctionStatus]:
        """One ``status`` request; the answer is one line a function, then a lone ``.``."""
        self.sock.sendall(b"status\n")
        answer = b""
        while not (answer == b".\n" or answer.endswith(b"\n.\n")):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AdminError("gearmand closed the admin connection")
            answer += chunk
        table: dict[str, FunctionStatus] = {}
        for line in answer.decode().splitlines()[:-1]:
            name, queued, running, workers = line.split("\t")
            table[name] = FunctionStatus(int(queued), int(running), int(workers))
        return table

    def function(self, name: str) -> FunctionStatus:
        return self.status().get(name, FunctionStatus(0, 0, 0))

    def wait_for(
        self, name: str, ready: Callable[[FunctionStatus], bool], timeout: float, what: str
    ) -> FunctionStatus:
        """Poll until ``ready(status)`` holds; raise AdminError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.function(name)
            if ready(current):
                return current
            if time.monotonic() > deadline:
                raise AdminError(f"timed out after {timeout}s waiting for {what}: {current}")
            time.sleep(0.005)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> AdminConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
