"""django-tasks (the DEP 14 backport) with django-tasks-db on SQLite, run by ``db_worker``."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Sequence

from bench.peers.base import JOB_TIMEOUT, TEXT, Peer, PeerClient, PeerEnvironment, PeerFailure
from bench.peers.project import SETTINGS_MODULE, setup_django
from bench.processes import WorkerSpec

WORKER_INTERVAL = 0.01  # db_worker's sleep when it found no task (its default is 1 s)
CLIENT_POLL = 0.002  # how often the client re-reads a result row while waiting


class TasksDBPeerClient(PeerClient):
    """``task.enqueue(...)`` and ``result.refresh()`` until the row is finished: django.tasks
    has no way to wait for a result other than reading it again."""

    def __init__(self, env: PeerEnvironment) -> None:
        setup_django()
        from django.db import transaction
        from django_tasks import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        from bench.peers.project.tasks import echo

        self.task = echo
        self.rows = DBTaskResult.objects
        self.unfinished = [TaskResultStatus.READY, TaskResultStatus.RUNNING]
        self.successful = TaskResultStatus.SUCCESSFUL
        self.atomic = transaction.atomic

    def _wait(self, result: object) -> object:
        deadline = time.monotonic() + JOB_TIMEOUT
        while not result.is_finished:  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                raise PeerFailure(f"django-tasks-db result not finished in {JOB_TIMEOUT}s")
            time.sleep(CLIENT_POLL)
            result.refresh()  # type: ignore[attr-defined]
        if result.status != self.successful:  # type: ignore[attr-defined]
            raise PeerFailure(f"django-tasks-db task ended {result.status}")  # type: ignore[attr-defined]
        return result.return_value  # type: ignore[attr-defined]

    def call(self, text: str) -> str:
        return self._wait(self.task.enqueue(text))  # type: ignore[return-value]

    def enqueue(self, text: str) -> None:
        self.task.enqueue(text)

    def call_many(self, texts: Sequence[str]) -> int:
        results = [self.task.enqueue(text) for text in texts]
        for result, text in zip(results, texts, strict=True):
            if self._wait(result) != text:
                raise PeerFailure("django-tasks-db returned another value")
        return len(results)

    def fill(self, count: int) -> None:
        with self.atomic():
            for _ in range(count):
                self.task.enqueue(TEXT)

    def pending(self) -> int:
        return int(self.rows.filter(status__in=self.unfinished).count())

    def purge(self) -> None:
        self.rows.all().delete()


def database_unlocked(env: PeerEnvironment) -> bool:
    """Whether a write transaction can start at once: a db_worker frozen inside its exclusive
    transaction would hold the file's lock until thawed."""
    with contextlib.closing(sqlite3.connect(env.database, timeout=0, isolation_level=None)) as db:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        db.execute("ROLLBACK")
        return True


def db_workers(env: PeerEnvironment, processes: int) -> list[WorkerSpec]:
    command = ["-m", "django", "db_worker", "--settings", SETTINGS_MODULE, "--no-startup-delay"]
    command += ["--interval", str(WORKER_INTERVAL)]
    return [env.worker([*command, "--worker-id", f"bench-{n}"], None) for n in range(processes)]


TASKS_DB = Peer(
    key="tasks-db",
    label="django-tasks-db (db_worker)",
    configuration=f"`manage.py db_worker --interval {WORKER_INTERVAL} --no-startup-delay` (N "
    "processes), django-tasks 0.12 backport on Django 5.2, SQLite file in WAL mode, persistent "
    "connections (`CONN_MAX_AGE = None`)",
    favours=f"polls every {WORKER_INTERVAL * 1000:.0f} ms when idle (default 1 s); the client "
    f"re-reads the result every {CLIENT_POLL * 1000:.0f} ms; WAL lets readers and the worker "
    "overlap",
    handicaps="every job is rows written and committed (enqueue, claim in an exclusive "
    "transaction, result); SQLite serialises writers; the file is on disk (fsync per commit)",
    workers=db_workers,
    client=TasksDBPeerClient,
    family="tasks-db",
    released=database_unlocked,
)
