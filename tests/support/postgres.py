"""A throwaway PostgreSQL server for tests and benchmarks: Debian's ``postgresql`` binaries,
``initdb`` (as the ``postgres`` user: it refuses root) into a temporary directory, a free
loopback port, trust authentication on loopback only, stopped and deleted at the end.

A missing PostgreSQL installation is an error (``PostgresError``), never a reason to skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.gearmand import HOST, free_port

SERVICE_USER = "postgres"


class PostgresError(RuntimeError):
    """PostgreSQL is missing, or the throwaway server did not start or stop as asked."""


def postgres_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/N/bin`` (Debian's layout) that has ``initdb``."""
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (path for path in root.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        raise PostgresError(
            "PostgreSQL not found under /usr/lib/postgresql: install Debian's postgresql "
            "(scripts/setup.sh does)"
        )
    return versions[-1]


class PostgresServer:
    """One private cluster. ``database_settings(name)`` is a Django ``DATABASES`` entry."""

    def __init__(self) -> None:
        self.bin_dir = postgres_bin_dir()
        # Directly under the system temp dir: the postgres user must be able to reach it.
        self.workdir = Path(tempfile.mkdtemp(prefix="postgres-"))
        self.data_dir = self.workdir / "data"
        self.socket_dir = self.workdir / "run"
        self.log_path = self.workdir / "postgres.log"
        self.port = free_port()
        self.running = False

    def _run(self, *command: str, timeout: float = 60.0) -> str:
        as_service_user = ["runuser", "-u", SERVICE_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*as_service_user, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise PostgresError(
                f"{Path(command[0]).name} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )
        return done.stdout

    def start(self) -> PostgresServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVICE_USER)
            for path in (self.workdir, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SERVICE_USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses={HOST} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.running = False
            with contextlib.suppress(PostgresError, subprocess.TimeoutExpired):
                self._run(
                    str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"
                )
        shutil.rmtree(self.workdir, ignore_errors=True)

    def create_database(self, name: str) -> None:
        self.psql(f'CREATE DATABASE "{name}"')

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with ``psql`` in ``database``; its unaligned output."""
        return self._run(
            str(self.bin_dir / "psql"),
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            SERVICE_USER,
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        )

    def database_settings(self, name: str) -> dict[str, Any]:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": SERVICE_USER,
            "HOST": HOST,
            "PORT": str(self.port),
        }

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()
