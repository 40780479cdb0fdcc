"""A private ``redis-server`` on a free loopback port, started and stopped by the harness.

Never the system's Redis, and never a service: the process is ours (its ``INFO`` reports our
pid), persistence is off, and stopping it stops only that pid.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.gearmand import HOST, free_port


class RedisServerError(RuntimeError):
    """redis-server is missing, or did not start as ours; the peers that need it cannot run."""


def redis_binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        raise RedisServerError(
            "redis-server not found: `make bench-peers` installs Debian's redis-server"
        )
    return found


def _command(address: tuple[str, int], command: str) -> str:
    """One inline command over RESP; enough to ask a fresh server who it is."""
    with socket.create_connection(address, timeout=2.0) as sock:
        sock.sendall(command.encode() + b"\r\n")
        answer = b""
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
            header, found, _ = answer.partition(b"\r\n")
            if found and not header.startswith(b"$"):
                break  # a one-line reply (+OK, -ERR)
            if found and len(answer) >= len(header) + 2 + int(header[1:]) + 2:
                break  # the whole bulk string
        return answer.decode(errors="replace")


class RedisServer:
    """``redis-server`` bound to 127.0.0.1 on a free port, no RDB/AOF, in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: int) -> str:
        return f"redis://{HOST}:{self.port}/{database}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RedisServerError("redis-server is not running")
        return self.process.pid

    def start(self, timeout: float = 10.0) -> RedisServer:
        command = [
            redis_binary(),
            "--bind", HOST,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", str(self.workdir),
            "--databases", "16",
            "--loglevel", "warning",
            "--logfile", str(self.workdir / f"redis-{self.port}.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisServerError(f"redis-server exited with {self.process.returncode}")
            with contextlib.suppress(OSError):
                if f"process_id:{self.process.pid}\r\n" in _command((HOST, self.port), "INFO"):
                    return self
            time.sleep(0.02)
        self.stop()
        raise RedisServerError(f"redis-server did not answer on port {self.port} in {timeout}s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir).start()
    try:
        yield server
    finally:
        server.stop()
