"""Start and stop private gearmand processes on free loopback ports, for tests and benchmarks.

gearmand is run in the foreground (never ``-d``: a daemonised gearmand on a busy port exits 0 and
leaves a silent process). After start we prove that the listening socket on our port belongs to
*our* process, by matching the socket inode in ``/proc/net/tcp`` against the process's file
descriptors, so a stray server on the same port can never be mistaken for ours.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

HOST = "127.0.0.1"


class GearmandError(RuntimeError):
    """gearmand is missing, or did not start or stop as asked."""


def gearmand_binary() -> str:
    """The gearmand executable; a missing one is an error, never a reason to skip."""
    for candidate in (shutil.which("gearmand"), "/usr/sbin/gearmand"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise GearmandError(
        "gearmand not found: install Debian's gearman-job-server (scripts/setup.sh does)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A = LISTEN
                inodes.add(inode)
    return inodes


def _socket_inodes_of(pid: int) -> set[str]:
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(FileNotFoundError, PermissionError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


class Gearmand:
    """One private gearmand process. ``port`` is kept across :meth:`restart`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        sqlite_db: Path | None = None,
        extra_args: Sequence[str] = (),
        workdir: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.sqlite_db = sqlite_db
        self.extra_args = list(extra_args)
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="gearmand-"))
        self.log_path = self.workdir / f"gearmand-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise GearmandError("gearmand is not running")
        return self.process.pid

    def command(self) -> list[str]:
        cmd = [
            gearmand_binary(),
            f"--listen={HOST}",
            f"--port={self.port}",
            f"--log-file={self.log_path}",
            f"--pid-file={self.workdir / f'gearmand-{self.port}.pid'}",
            "--verbose=WARNING",
            "--threads=1",
        ]
        if self.sqlite_db is not None:
            cmd += ["--queue-type=libsqlite3", f"--libsqlite3-db={self.sqlite_db}"]
        return cmd + self.extra_args

    def start(self, timeout: float = 10.0) -> Gearmand:
        if self.process is not None and self.process.poll() is None:
            raise GearmandError(f"gearmand already running on {self.address}")
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                stderr = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise GearmandError(
                    f"gearmand exited with {code} on port {self.port}: "
                    f"{stderr.strip()} {self._log_tail()}"
                )
            if _listening_inodes(self.port) & _socket_inodes_of(self.process.pid):
                return self
            time.sleep(0.02)
        self.kill()
        raise GearmandError(f"gearmand did not listen on {self.address} within {timeout}s")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        self._signal_and_wait(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: the server dies at once, as in a crash."""
        self._signal_and_wait(signal.SIGKILL, 10.0)

    def _signal_and_wait(self, sig: signal.Signals, timeout: float) -> None:
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stderr:
            proc.stderr.close()
        self.process = None

    @contextlib.contextmanager
    def hung(self) -> Iterator[None]:
        """SIGSTOP for the block, SIGCONT after: the server still accepts connections (the
        kernel completes the handshake) but answers nothing, the hardest failure for a client."""
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.pid, signal.SIGCONT)

    def restart(self, timeout: float = 10.0) -> Gearmand:
        self.stop()
        return self.start(timeout)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Gearmand:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_gearmand(**kwargs: object) -> Iterator[Gearmand]:
    server = Gearmand(**kwargs)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()
