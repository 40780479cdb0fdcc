"""A bare ``django_gearman.protocol.Worker`` in its own process, for transport fault tests.

Run as ``python -m tests.support.transport_worker --servers A,B [--max-packet N]
[--job-seconds S] [--count-file F]``: it serves ``reverse`` (the payload reversed, after S
seconds) and ``count`` (appends the payload to F as it starts, then takes S seconds), logging to
stderr. ``TransportWorker`` starts it, waits until every given server lists it, and stops it
with SIGTERM (SIGKILL after a bound).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from django_gearman.protocol import AdminClient, GearmanError, Worker, WorkerJob

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def registered_workers(address: str, function: str) -> int:
    """Available workers of ``function`` on ``address`` (0 if the server does not answer)."""
    try:
        with AdminClient(address, timeout=2.0) as admin:
            return sum(s.available_workers for s in admin.status() if s.function == function)
    except (OSError, GearmanError):
        return 0


class TransportWorker:
    """The worker process; ``log()`` is what it logged so far."""

    def __init__(
        self,
        servers: Sequence[str],
        log_path: Path,
        *,
        max_packet: int | None = None,
        count_file: Path | None = None,
        ready_on: Sequence[str] | None = None,
        job_seconds: float = 0.0,
    ) -> None:
        self.servers = list(servers)
        self.log_path = log_path
        self.ready_on = self.servers if ready_on is None else list(ready_on)
        command = [sys.executable, "-m", "tests.support.transport_worker"]
        command += ["--servers", ",".join(self.servers)]
        if max_packet is not None:
            command += ["--max-packet", str(max_packet)]
        if count_file is not None:
            command += ["--count-file", str(count_file)]
        if job_seconds:
            command += ["--job-seconds", str(job_seconds)]
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> TransportWorker:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while not all(registered_workers(server, "reverse") for server in self.ready_on):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"transport worker did not get ready:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def __enter__(self) -> TransportWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--servers", required=True)
    parser.add_argument("--max-packet", type=int, default=None)
    parser.add_argument("--count-file", type=Path, default=None)
    parser.add_argument("--job-seconds", type=float, default=0.0)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    worker = Worker(options.servers.split(","), backoff=0.05, max_backoff=0.5)
    if options.max_packet is not None:
        worker.max_packet = options.max_packet
    count_file: Path | None = options.count_file
    job_seconds: float = options.job_seconds

    def reverse(job: WorkerJob) -> bytes:
        if job_seconds:
            time.sleep(job_seconds)
        return job.data[::-1]

    worker.register("reverse", reverse)

    def count(job: WorkerJob) -> bytes:
        if count_file is not None:
            with count_file.open("ab") as runs:
                runs.write(job.data + b"\n")
        if job_seconds:
            time.sleep(job_seconds)
        return b"counted"

    worker.register("count", count)

    def on_term(signum: int, frame: FrameType | None) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, on_term)
    worker.work()
    os.write(2, b"worker stopped\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
