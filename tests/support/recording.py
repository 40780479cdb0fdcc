"""A bare transport worker in a thread that keeps every payload it is given, byte for byte."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django_gearman.protocol import Worker, WorkerJob

STOP_TIMEOUT = 30.0


@contextmanager
def recording_worker(address: str, function: str, reply: bytes) -> Iterator[list[bytes]]:
    """Serve ``function`` on ``address``: keep each workload (what crossed gearmand) in the
    yielded list and answer ``reply``; stopped and closed on exit."""
    received: list[bytes] = []

    def record(job: WorkerJob) -> bytes:
        received.append(job.data)
        return reply

    worker = Worker([address])
    worker.register(function, record)
    thread = threading.Thread(target=worker.work, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        worker.stop()
        thread.join(timeout=STOP_TIMEOUT)
        worker.close()
