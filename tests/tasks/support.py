"""A small project for the task tests: gearmand, a migrated SQLite result store, worker
processes and client processes, all real, sharing one database file and one events file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.django.support import ROOT, WorkerProcess, wait_until
from tests.support.gearmand import Gearmand
from tests.tasks.tasks_app.events import EVENTS_VARIABLE, read_events

SETTINGS = "tests.tasks.settings"
TASKS = "tests.tasks.tasks_app.tasks"
CLIENT_TIMEOUT = 60.0


@dataclass
class TasksProject:
    """Processes of one project; ``client`` runs the driver in a fresh process each time."""

    gearmand: Gearmand
    directory: Path
    workers: list[WorkerProcess] = field(default_factory=list)
    schedulers: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def database(self) -> Path:
        return self.directory / "store.sqlite3"

    @property
    def events_path(self) -> Path:
        return self.directory / "events.jsonl"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "PYTHONPATH": str(ROOT),
            "TEST_TASKS_DB": str(self.database),
            "TEST_GEARMAN_SERVER": self.gearmand.address,
            EVENTS_VARIABLE: str(self.events_path),
            **extra,
        }

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
        )

    def migrate(self) -> None:
        done = self.manage("migrate", "--noinput")
        assert done.returncode == 0, done.stderr

    def client(
        self, command: str, env: dict[str, str] | None = None, **request: Any
    ) -> dict[str, Any]:
        """One driver process: enqueue a task or read a result (see ``driver.py``)."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.tasks.driver", command, json.dumps(request)],
            cwd=ROOT,
            env=self.env(**(env or {})),
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
        )
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer

    def enqueue(
        self, name: str, *args: Any, kwargs: dict[str, Any] | None = None, **request: Any
    ) -> dict[str, Any]:
        """Enqueue ``TASKS.name(*args, **kwargs)`` in a client process (any Python literals)."""
        return self.client(
            "enqueue", task=f"{TASKS}.{name}", args=repr(args), kwargs=repr(kwargs or {}), **request
        )

    def finished(self, result_id: str, wait: float = 30.0, **request: Any) -> dict[str, Any]:
        """The result, once the worker finished it (the driver polls with ``refresh()``)."""
        return self.client("result", id=result_id, wait=wait, **request)

    def start_worker(
        self, *args: str, function: str, count: int = 1, env: dict[str, str] | None = None
    ) -> WorkerProcess:
        worker = WorkerProcess(self.gearmand.address, list(args), env=self.env(**(env or {})))
        self.workers.append(worker)
        worker.start()
        worker.wait_for_workers(function, count)
        return worker

    def start_scheduler(self) -> subprocess.Popen[str]:
        """``manage.py gearman_scheduler`` (the lifecycle's), releasing deferred records."""
        log = open(self.directory / "scheduler.log", "a")  # noqa: SIM115 - the process keeps it
        scheduler = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "gearman_scheduler",
                "--servers",
                self.gearmand.address,
                "--interval",
                "0.2",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.schedulers.append(scheduler)
        return scheduler

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()
        for scheduler in self.schedulers:
            scheduler.terminate()
            try:
                scheduler.wait(20)
            except subprocess.TimeoutExpired:
                scheduler.kill()
                scheduler.wait(10)
        self.schedulers.clear()

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = read_events(str(self.events_path))
        return [e for e in found if kind is None or e["kind"] == kind]

    def wait_for_events(self, kind: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.events(kind)) >= count, timeout, f"{count} {kind} event(s)")
        return self.events(kind)


def function_of(task: str, queue: str = "default") -> str:
    """The Gearman function of a test task (the documented naming rule, written out)."""
    return f"{TASKS}.{task}@{queue}"
