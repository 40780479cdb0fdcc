"""Helpers of the job-store tests: one database shared by this process (the client) and the
worker subprocesses, on SQLite (a file: pytest-django's SQLite test database lives in memory,
where no other process can see it) or on the throwaway PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connections
from django.db.utils import load_backend
from django.utils import timezone

from django_gearman.protocol import Client
from django_gearman.results import StoredResult
from django_gearman.scheduler import Scheduler
from tests.django.support import ROOT, WorkerProcess

SETTINGS = "tests.lifecycle.store_settings"
JOBS = "tests.lifecycle.store_jobs"
SQLITE_OPTIONS = {
    # Several processes write one file: wait for the lock instead of failing, and let readers
    # read while one writes (WAL).
    "timeout": 60,
    "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
}


@dataclass(frozen=True)
class StoreDatabase:
    """The database of one test module: ``kind`` is "sqlite" or "postgresql"."""

    kind: str
    settings: dict[str, Any]

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a subprocess that uses this database."""
        return {
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "STORE_TEST_DATABASE": json.dumps(self.settings),
            **extra,
        }


def sqlite_settings(path: Path) -> dict[str, Any]:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": SQLITE_OPTIONS}


@contextlib.contextmanager
def default_database(settings: dict[str, Any]) -> Iterator[None]:
    """Point this process's ``default`` database at ``settings`` (every thread, including
    ``sync_to_async`` ones), migrate it, and restore the original connection afterwards."""
    configured = connections.configure_settings({"default": dict(settings)})["default"]
    original_settings = connections.settings["default"]
    original = connections["default"]
    wrapper = load_backend(configured["ENGINE"]).DatabaseWrapper(configured, "default")
    connections.settings["default"] = configured
    connections["default"] = wrapper
    _forget_async_connections()
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        connections.close_all()
        connections.settings["default"] = original_settings
        connections["default"] = original
        _forget_async_connections()


def _forget_async_connections() -> None:
    """Django's async ORM runs queries in one long-lived thread, whose connections would
    outlive a swap of the database: drop them, so that it connects anew."""

    def forget() -> None:
        for connection in connections.all(initialized_only=True):
            connection.close()
            del connections[connection.alias]

    asyncio.run(sync_to_async(forget)())


def start_worker(
    address: str, database: StoreDatabase, *args: str, wait_for: str, count: int = 1, **env: str
) -> WorkerProcess:
    """``manage.py gearman_worker`` on ``database``, registered ``count`` times for the job
    ``wait_for`` (a name in the store_jobs app)."""
    process = WorkerProcess(address, list(args), env=database.env(**env))
    process.start()
    try:
        process.wait_for_workers(f"{JOBS}.{wait_for}", count)
    except BaseException:
        process.stop()
        raise
    return process


def lookup_elsewhere(database: StoreDatabase, job: str, result_id: str) -> dict[str, Any]:
    """``job.get_result(id)`` in a separate Python process; its fields as JSON."""
    script = (
        "import django, json, sys; django.setup()\n"
        "from django_gearman import registry\n"
        "result = registry.get(sys.argv[1]).get_result(sys.argv[2])\n"
        "last = result.errors[-1] if result.errors else None\n"
        "print(json.dumps({'status': result.status, 'attempts': result.attempts,\n"
        "    'errors': [e.type for e in result.errors],\n"
        "    'message': last.message if last else None,\n"
        "    'traceback': last.traceback if last else None,\n"
        "    'value': result.return_value if result.status == 'SUCCESSFUL' else None}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, f"{JOBS}.{job}", result_id],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **database.env()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def run_count(path: Path) -> int:
    """How many times a job that appends a line per run has run."""
    return len(path.read_text().splitlines()) if path.exists() else 0


def run_times(path: Path) -> list[float]:
    return [float(line) for line in path.read_text().splitlines()] if path.exists() else []


def release_until_finished(result: StoredResult[Any], address: str, timeout: float = 60.0) -> None:
    """Do the scheduler's work in this process (a ``Scheduler`` hands due retries to gearmand)
    until ``result`` finished; fail after ``timeout`` seconds."""
    transport = Client([address])
    scheduler = Scheduler(transport, sweep_every=None)
    deadline = time.monotonic() + timeout
    try:
        while True:
            scheduler.release_due(timezone.now())
            result.refresh()
            if result.is_finished:
                return
            assert time.monotonic() < deadline, f"{result.job_name} still {result.status}"
            time.sleep(0.02)
    finally:
        transport.close()
