"""Processes of the scheduler tests: every client, worker and scheduler is a ``manage.py``
subprocess with ``tests.lifecycle.scheduling.settings``, sharing one database and one gearmand,
as in a deployment. The test process itself never opens that database: it asks a ``manage.py
shell`` subprocess, as an operator would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.gearmand import Gearmand
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = "tests.lifecycle.scheduling.settings"
COMMAND_TIMEOUT = 60.0


def wait_for(condition: Callable[[], bool], timeout: float, what: str, pause: float = 0.05) -> None:
    """Poll ``condition``; fail the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(pause)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass(frozen=True, slots=True)
class Run:
    """One line of the run log: a job ran (``name``, ``tag``) at unix time ``at``."""

    name: str
    tag: str
    at: float


class ManagedProcess:
    """A long-running ``manage.py COMMAND`` (worker, scheduler) with its output in a file."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = " ".join(command[3:5])
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = COMMAND_TIMEOUT) -> None:
        def seen() -> bool:
            if self.process.poll() is not None and text not in self.output():
                raise AssertionError(f"process exited early:\n{self.output()}")
            return text in self.output()

        wait_for(seen, timeout, f"{text!r} in the output of {self.name}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` and wait; a process that does not exit in time is killed (and fails)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"{self.name} ignored {sig.name}:\n{self.output()}") from None


@dataclass
class Deployment:
    """One database, one gearmand, one run log, and every process started against them."""

    database: dict[str, Any]
    gearmand: Gearmand
    workdir: Path
    processes: list[ManagedProcess] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def run_log(self) -> Path:
        return self.workdir / "runs.log"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "PYTHONPATH": str(ROOT),
            "SCHEDULING_DATABASE": json.dumps(self.database),
            "SCHEDULING_GEARMAN": self.gearmand.address,
            "SCHEDULING_RUN_LOG": str(self.run_log),
            **self.extra_env,
        }

    def manage(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run ``manage.py ARGS`` to completion; its stdout, or a failure with its output."""
        return run_manage(self.env(), *args, timeout=timeout)

    def python(self, code: str) -> Any:
        """Run ``code`` in a fresh ``manage.py shell`` process; it prints one JSON value."""
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def start(self, *args: str) -> ManagedProcess:
        log_path = self.workdir / f"{args[0]}-{len(self.processes)}.log"
        command = [sys.executable, "-m", "django", *args]
        process = ManagedProcess(command, self.env(), log_path)
        self.processes.append(process)
        return process

    def start_worker(self, *args: str) -> ManagedProcess:
        worker = self.start("gearman_worker", "--servers", self.gearmand.address, *args)
        worker.wait_for_output("Serving")
        return worker

    def start_scheduler(self, *args: str) -> ManagedProcess:
        scheduler = self.start("gearman_scheduler", "--servers", self.gearmand.address, *args)
        scheduler.wait_for_output("Scheduler started")
        return scheduler

    def runs(self, name: str | None = None) -> list[Run]:
        """The runs logged so far (of job function ``name``), in the order they happened."""
        if not self.run_log.exists():
            return []
        lines = self.run_log.read_text().splitlines()
        found = [Run(name, tag, float(at)) for name, tag, at in (line.split() for line in lines)]
        return [run for run in found if name is None or run.name == name]

    def stop_all(self) -> None:
        for process in self.processes:
            if process.process.poll() is None:
                process.stop()


DATABASES = ("sqlite", "postgresql")


def run_manage(env: dict[str, str], *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """Run ``manage.py ARGS`` with ``env`` to completion; its stdout, or a failed assertion with
    its output."""
    done = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def migrate(database: dict[str, Any]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": SETTINGS}
    run_manage({**env, "SCHEDULING_DATABASE": json.dumps(database)}, "migrate", "-v", "0")


_templates: dict[str, Any] = {}


def sqlite_database(workdir: Path, template_dir: Path) -> dict[str, Any]:
    """A migrated SQLite file for one test: migrating once per session, then copying the file."""
    template = _templates.get("sqlite")
    if template is None:
        template = template_dir / "template.sqlite3"
        migrate({"ENGINE": "django.db.backends.sqlite3", "NAME": str(template)})
        _templates["sqlite"] = template
    target = workdir / "db.sqlite3"
    shutil.copyfile(template, target)
    # timeout: several processes write; SQLite makes a writer wait for the lock this long
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(target), "OPTIONS": {"timeout": 20}}


def postgres_database(server: PostgresServer, name: str) -> dict[str, Any]:
    """A fresh database on the tests' PostgreSQL server, copied from one migrated template."""
    if _templates.get("postgresql") is not server:
        server.create_database("scheduling_template")
        migrate(server.database_settings("scheduling_template"))
        _templates["postgresql"] = server
    server.psql(f'CREATE DATABASE "{name}" TEMPLATE "scheduling_template"')
    return server.database_settings(name)


@pytest.fixture(params=DATABASES)
def deployment(
    request: pytest.FixtureRequest,
    gearmand: Gearmand,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    """A deployment on SQLite and on PostgreSQL; every process it started is stopped after."""
    workdir = Path(tempfile.mkdtemp(prefix="scheduling-", dir=tmp_path))
    if request.param == "sqlite":
        template_dir = tmp_path_factory.getbasetemp() / "scheduling-template"
        template_dir.mkdir(exist_ok=True)
        database = sqlite_database(workdir, template_dir)
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")  # tests/lifecycle
        database = postgres_database(server, f"scheduling_{workdir.name[-8:].lower()}")
    found = Deployment(database, gearmand, workdir)
    try:
        yield found
    finally:
        found.stop_all()
