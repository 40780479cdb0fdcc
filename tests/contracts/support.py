"""Helpers of the contract tests: worker and manage.py subprocesses with the contract settings,
and a recording transport worker that keeps the payloads clients really sent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django_gearman.protocol import Worker, WorkerJob
from tests.django.support import ROOT

SETTINGS = "tests.contracts.settings"
COMMAND_TIMEOUT = 120.0


def contract_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess with the contract settings (plus ``extra``)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py ARGS`` with the contract settings; bounded in time."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=contract_env(**env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@contextmanager
def recording_worker(address: str, function: str, reply: bytes) -> Iterator[list[bytes]]:
    """A bare transport worker for ``function`` that keeps every payload and answers ``reply``:
    what crossed gearmand, byte for byte."""
    received: list[bytes] = []
    worker = Worker([address])

    def record(job: WorkerJob) -> bytes:
        received.append(job.data)
        return reply

    worker.register(function, record)
    thread = threading.Thread(target=worker.work, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        worker.stop()
        thread.join(30)
        worker.close()
