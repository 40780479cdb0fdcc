"""Gearman administrative text protocol: a sans-I/O response parser and a blocking AdminClient.

Commands are one text line; answers are either one line (``OK ...``) or a list of lines ending
with a line holding only ``.``; failures are ``ERR CODE url+encoded+text``. Verified against
gearmand 1.1.20, which supports ``status``, ``workers``, ``version``, ``getpid``,
``prioritystatus``, ``show jobs``, ``show unique jobs`` and ``cancel job HANDLE``.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import NamedTuple
from urllib.parse import unquote_plus

from .address import parse_server
from .connection import open_socket
from .transport_errors import ConnectionLost, GearmanError, JobTimeout, ProtocolError, ServerError

DEFAULT_MAX_RESPONSE = 16 * 1024 * 1024


class FunctionStatus(NamedTuple):
    function: str
    queued: int
    running: int
    available_workers: int


class PriorityStatus(NamedTuple):
    function: str
    high: int
    normal: int
    low: int
    available_workers: int


class WorkerInfo(NamedTuple):
    fd: int
    ip: str
    client_id: str
    functions: tuple[str, ...]


class QueuedJob(NamedTuple):
    handle: str
    retries: int
    ignore_job: bool
    job_queued: bool


class AdminParser:
    """Split admin answers out of a byte stream; bounded by ``max_response`` bytes."""

    def __init__(self, *, max_response: int = DEFAULT_MAX_RESPONSE) -> None:
        self.max_response = max_response
        self._buffer = bytearray()

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        if len(self._buffer) > self.max_response:
            raise ProtocolError(f"admin answer longer than {self.max_response} bytes")

    def _lines(self) -> list[str]:
        text = self._buffer.decode("utf-8", "replace")
        return text.split("\n")

    @staticmethod
    def _error(line: str) -> ServerError:
        _, _, rest = line.partition(" ")
        code, _, text = rest.partition(" ")
        return ServerError(code or "ERR", unquote_plus(text))

    def next_line(self) -> str | None:
        """A single-line answer without its ``OK`` prefix; ERR lines raise ServerError."""
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        line = self._buffer[:end].decode("utf-8", "replace").rstrip("\r")
        del self._buffer[: end + 1]
        if line.startswith("ERR"):
            raise self._error(line)
        if line == "OK" or line.startswith("OK "):
            return line[3:]
        return line

    def next_list(self) -> list[str] | None:
        """A ``.``-terminated list answer (without the dot); ERR instead raises ServerError."""
        first_end = self._buffer.find(b"\n")
        if first_end < 0:
            return None
        if self._buffer.startswith(b"ERR"):
            line = self._buffer[:first_end].decode("utf-8", "replace").rstrip("\r")
            del self._buffer[: first_end + 1]
            raise self._error(line)
        if self._buffer.startswith(b".\n"):
            end = 0
        else:
            end = self._buffer.find(b"\n.\n")
            if end < 0:
                return None
            end += 1
        lines = self._buffer[:end].decode("utf-8", "replace").split("\n")[:-1] if end else []
        del self._buffer[: end + 2]
        return lines


def _int(text: str, line: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise ProtocolError(f"malformed admin line {line!r}") from exc


def _fields(line: str, count: int) -> list[str]:
    parts = line.split("\t")
    if len(parts) != count:
        raise ProtocolError(f"admin line {line!r} has {len(parts)} fields, expected {count}")
    return parts


def parse_status(lines: list[str]) -> list[FunctionStatus]:
    out = []
    for line in lines:
        name, queued, running, workers = _fields(line, 4)
        out.append(
            FunctionStatus(name, _int(queued, line), _int(running, line), _int(workers, line))
        )
    return out


def parse_priority_status(lines: list[str]) -> list[PriorityStatus]:
    out = []
    for line in lines:
        name, high, normal, low, workers = _fields(line, 5)
        counts = [_int(value, line) for value in (high, normal, low, workers)]
        out.append(PriorityStatus(name, *counts))
    return out


def parse_workers(lines: list[str]) -> list[WorkerInfo]:
    out = []
    for line in lines:
        head, sep, functions = line.partition(" :")
        parts = head.split(" ")
        if not sep or len(parts) != 3:
            raise ProtocolError(f"malformed workers line {line!r}")
        out.append(WorkerInfo(_int(parts[0], line), parts[1], parts[2], tuple(functions.split())))
    return out


def parse_jobs(lines: list[str]) -> list[QueuedJob]:
    out = []
    for line in lines:
        handle, retries, ignore, queued = _fields(line, 4)
        out.append(QueuedJob(handle, _int(retries, line), ignore == "1", queued == "1"))
    return out


class AdminClient:
    """Blocking admin client for one server; thread-safe (one command at a time).

    Each call waits at most ``timeout`` seconds; a failed connection is reopened on the next call.
    """

    def __init__(self, server: str, *, timeout: float = 5.0) -> None:
        self.address = parse_server(server)
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._parser = AdminParser()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        sock = self._sock
        self._sock = None
        self._parser = AdminParser()
        if sock is not None:
            sock.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _command(self, command: str, as_list: bool) -> list[str] | str:
        if "\n" in command or "\r" in command:
            raise ValueError("admin command must be a single line")
        with self._lock:
            deadline = time.monotonic() + self.timeout
            try:
                if self._sock is None:
                    self._sock = open_socket(self.address, self.timeout)
                sock = self._sock
                sock.settimeout(self.timeout)
                sock.sendall(command.encode() + b"\n")
                while True:
                    answer = self._parser.next_list() if as_list else self._parser.next_line()
                    if answer is not None:
                        return answer
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    sock.settimeout(remaining)
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionLost(f"admin connection to {self.address} closed")
                    self._parser.feed(data)
            except ServerError:
                raise
            except TimeoutError as exc:
                self._close()
                raise JobTimeout(f"admin command {command!r} timed out on {self.address}") from exc
            except OSError as exc:
                self._close()
                raise ConnectionLost(f"admin connection to {self.address}: {exc}") from exc
            except GearmanError:
                self._close()
                raise

    def _list(self, command: str) -> list[str]:
        answer = self._command(command, True)
        assert isinstance(answer, list)
        return answer

    def _line(self, command: str) -> str:
        answer = self._command(command, False)
        assert isinstance(answer, str)
        return answer

    def status(self) -> list[FunctionStatus]:
        """Per function: queued (incl. running) jobs, running jobs, available workers."""
        return parse_status(self._list("status"))

    def priority_status(self) -> list[PriorityStatus]:
        """Per function: queued jobs by priority (gearmand >= 1.1.x ``prioritystatus``)."""
        return parse_priority_status(self._list("prioritystatus"))

    def workers(self) -> list[WorkerInfo]:
        """Every connection: fd, ip, client id (``-`` if unset) and registered functions."""
        return parse_workers(self._list("workers"))

    def show_jobs(self) -> list[QueuedJob]:
        """Jobs the server holds (gearmand ``show jobs``)."""
        return parse_jobs(self._list("show jobs"))

    def show_unique_jobs(self) -> list[str]:
        """Unique ids of held jobs (empty strings for jobs without one)."""
        return self._list("show unique jobs")

    def version(self) -> str:
        return self._line("version")

    def getpid(self) -> int:
        return _int(self._line("getpid"), "getpid")

    def cancel_job(self, handle: str | bytes) -> None:
        """Remove a queued background job; ServerError(UNKNOWN_JOB) if there is none."""
        text = handle.decode() if isinstance(handle, bytes) else handle
        if not text or any(c.isspace() for c in text):
            raise ValueError(f"invalid job handle {handle!r}")
        self._line(f"cancel job {text}")
