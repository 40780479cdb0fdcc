"""What gearmand's libsqlite3 queue really keeps (1.1.20), against real gearmand processes.

Two limits docs/reliability.md states: with ``--store-queue-on-shutdown`` nothing reaches the
database until a graceful stop, so SIGKILL loses every accepted job; and a job whose worker
finished it while the server was down runs again after the restart (its row is deleted only when
the server hears WORK_COMPLETE): the queue is at-least-once, jobs must be idempotent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from django_gearman.protocol import AdminClient, Client
from tests.reliability.support import wait_until
from tests.support.gearmand import Gearmand
from tests.support.transport_worker import TransportWorker

JOBS = 20


def stored_rows(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        tables = connection.execute("select name from sqlite_master where type = 'table'")
        if ("gearman_queue",) not in tables.fetchall():
            return 0
        return int(connection.execute("select count(*) from gearman_queue").fetchone()[0])


def queued(server: Gearmand, function: str) -> int:
    with AdminClient(server.address, timeout=5.0) as admin:
        return sum(s.queued for s in admin.status() if s.function == function)


def submit_background(server: Gearmand, count: int) -> None:
    with Client(server.address) as client:
        for n in range(count):
            job = client.submit("count", f"job-{n}".encode(), unique=f"job-{n}", background=True)
            assert job.state == "queued"


def test_store_queue_on_shutdown_writes_nothing_until_a_graceful_stop(
    gearmand_factory: Callable[..., Gearmand], tmp_path: Path
) -> None:
    db = tmp_path / "queue.db"
    server = gearmand_factory(sqlite_db=db, extra_args=["--store-queue-on-shutdown"])
    submit_background(server, JOBS)
    assert queued(server, "count") == JOBS
    assert stored_rows(db) == 0, "accepted jobs are only in memory while gearmand runs"
    server.kill()  # SIGKILL
    server.start()
    assert queued(server, "count") == 0, "every accepted job was lost"
    submit_background(server, JOBS)
    server.stop()  # SIGTERM: the queue is written now
    assert stored_rows(db) == JOBS
    server.start()
    assert queued(server, "count") == JOBS


def test_a_job_finished_while_its_server_was_down_runs_again_after_the_restart(
    gearmand_factory: Callable[..., Gearmand], tmp_path: Path
) -> None:
    db, runs = tmp_path / "queue.db", tmp_path / "runs.txt"
    server = gearmand_factory(sqlite_db=db)

    def run_count() -> int:
        return len(runs.read_bytes().splitlines()) if runs.exists() else 0

    with TransportWorker([server.address], tmp_path / "worker.log", count_file=runs, job_seconds=2):
        submit_background(server, 1)
        wait_until(lambda: run_count() == 1, 20.0, "the job to start")
        server.kill()  # the worker finishes the job, but no server hears WORK_COMPLETE
        assert stored_rows(db) == 1
        server.start()
        wait_until(lambda: run_count() == 2, 30.0, "the replayed job to run again")
        wait_until(lambda: stored_rows(db) == 0, 30.0, "the second completion to delete the row")
    assert runs.read_bytes().splitlines() == [b"job-0", b"job-0"]
