"""Section 5: what the result store costs per job, on SQLite and on PostgreSQL.

For each database, unstored and stored echo jobs are compared twice: (a) the client's
``dispatch`` rate into a gearmand with no worker (a stored job also inserts its record and
writes its handle), and (b) one ``gearman_worker -w 1`` draining pre-dispatched jobs (a stored
job also marks its record RUNNING and then SUCCESSFUL): the clock runs from the first job taken
to the queue empty (unstored) or the last record SUCCESSFUL (stored). The difference of the
inverse rates is the store's cost per job. On PostgreSQL the table statistics count every row
written by every process, which gives the writes per stored job; the worker runs once with
Django's default ``CONN_MAX_AGE = 0`` (a connection per job, as per request) and once with
persistent connections.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.admin import AdminConnection, AdminError
from bench.djangosite import setup_django
from bench.harness import Scenario, private_gearmand
from bench.measure import Budget, Sample, sequential
from bench.processes import RunningWorkers, django_worker
from bench.profile import TINY_PAYLOAD, Profile
from bench.report import Report, Table, fmt_rate, fmt_us

JOBS = {"full": 2_000, "smoke": 100}  # jobs per drain
REPEATS = {"full": 3, "smoke": 1}
DISPATCH_BUDGET = {"full": Budget(5_000, 1.0), "smoke": Budget(100, 0.2)}
ADMIN_POLL_SECONDS = 0.002  # gearmand's counters, as section 3 polls them
RECORD_POLL_SECONDS = 0.01  # a COUNT query: polled less often, it shares the database
STORED_WIRE_NAME = "bench.djangosite.stored_echo"
ECHO_WIRE_NAME = "bench.djangosite.echo"


@dataclasses.dataclass(frozen=True)
class Database:
    """One database setup: ``label`` for the tables, Django ``settings``, and how the
    worker's connections live."""

    label: str
    settings: dict[str, Any]
    server: Any = None  # the PostgresServer, for its statistics


def run(report: Report, profile: Profile, out: Path) -> None:
    setup_django()
    dispatch: dict[str, list[Sample]] = {}
    drain: dict[str, list[Sample]] = {}
    writes: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        scenario = Scenario(report, "stored", stack)
        for database in _databases(stack, profile):
            outcome = scenario.attempt(
                database.label, functools.partial(_measure, database, profile)
            )
            if outcome is None:
                continue
            for kind, samples in outcome[0].items():
                dispatch[f"{kind} ({database.label})"] = samples
            for kind, samples in outcome[1].items():
                drain[f"{kind} ({database.label})"] = samples
            if outcome[2] is not None:
                writes[database.label] = outcome[2]
    _tables(report, dispatch, drain, writes)


def _databases(stack: contextlib.ExitStack, profile: Profile) -> Iterator[Database]:
    from tests.lifecycle.store_support import sqlite_settings
    from tests.support.postgres import PostgresServer

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-store-")))
    yield Database("SQLite", sqlite_settings(folder / "store.sqlite3"))
    server = PostgresServer()
    stack.callback(server.stop)
    server.start()
    server.create_database("bench")
    settings = server.database_settings("bench")
    yield Database("PostgreSQL", settings, server)
    if profile.name != "smoke":
        yield Database("PostgreSQL, CONN_MAX_AGE=60", {**settings, "CONN_MAX_AGE": 60}, server)


def _measure(
    database: Database, profile: Profile
) -> tuple[dict[str, list[Sample]], dict[str, list[Sample]], float | None]:
    from bench.djangosite.gearman_jobs import echo, stored_echo
    from tests.lifecycle.store_support import default_database

    jobs = JOBS[profile.name]
    budget = DISPATCH_BUDGET[profile.name]
    dispatch: dict[str, list[Sample]] = {"unstored": [], "stored": []}
    drain: dict[str, list[Sample]] = {"unstored": [], "stored": []}
    text = TINY_PAYLOAD.decode()
    with private_gearmand() as server, default_database(database.settings):
        from django.test import override_settings

        with override_settings(GEARMAN_SERVERS=[server.address]):
            before = _row_counts(database)
            for _ in range(REPEATS[profile.name]):
                dispatch["unstored"].append(sequential(lambda: echo.dispatch(text), budget))
                dispatch["stored"].append(sequential(lambda: stored_echo.dispatch(text), budget))
                _empty(server.address, database)
                drain["unstored"].append(
                    _drain(server.address, database, ECHO_WIRE_NAME, jobs, echo.dispatch)
                )
                drain["stored"].append(
                    _drain(server.address, database, STORED_WIRE_NAME, jobs, stored_echo.dispatch)
                )
            after = _row_counts(database)
    written = None
    if before is not None and after is not None:
        stored_jobs = sum(s.operations for s in dispatch["stored"]) + sum(
            s.operations for s in drain["stored"]
        )
        written = (after - before) / stored_jobs if stored_jobs else None
    return dispatch, drain, written


def _empty(address: str, database: Database) -> None:
    """Drop what the dispatch samples queued (no worker ran them): a fresh queue per drain."""
    with AdminConnection(address) as admin:
        queued = admin.status()
    leftover = {name: status.queued for name, status in queued.items() if status.queued}
    if leftover:
        spec = _worker(address, database, ECHO_WIRE_NAME)
        with RunningWorkers(address, [spec]), AdminConnection(address) as admin:
            deadline = time.monotonic() + 300
            while any(admin.function(name).queued for name in leftover):
                if time.monotonic() > deadline:
                    raise AdminError(f"leftover jobs not drained: {leftover}")
                time.sleep(0.05)


def _worker(address: str, database: Database, function: str) -> Any:
    """``gearman_worker -w 1`` of the bench site, on ``database``."""
    spec = django_worker(address, 1, 900.0)
    env = {"BENCH_DATABASE": json.dumps(database.settings)}
    return dataclasses.replace(spec, function=function, env=env)


def _drain(
    address: str, database: Database, function: str, jobs: int, dispatch: Callable[[str], Any]
) -> Sample:
    """Dispatch ``jobs`` jobs, then time one worker process taking them all."""
    from django_gearman.models import JobRecord

    stored = function == STORED_WIRE_NAME
    text = TINY_PAYLOAD.decode()
    JobRecord.objects.all().delete()
    for _ in range(jobs):
        dispatch(text)
    with AdminConnection(address) as admin:
        admin.wait_for(function, lambda s: s.queued == jobs, 60, f"{jobs} queued jobs")
        with RunningWorkers(address, [_worker(address, database, function)], wait_ready=False):
            started = _until(lambda: admin.function(function).queued < jobs, ADMIN_POLL_SECONDS)
            if stored:
                finished = _until(
                    lambda: JobRecord.objects.filter(status="SUCCESSFUL").count() == jobs,
                    RECORD_POLL_SECONDS,
                )
            else:
                finished = _until(lambda: admin.function(function).queued == 0, ADMIN_POLL_SECONDS)
    return Sample(jobs, max(finished - started, 1e-9))


def _until(condition: Callable[[], bool], pause: float, timeout: float = 600.0) -> float:
    """The moment ``condition`` was first seen true, polling every ``pause`` seconds."""
    deadline = time.perf_counter() + timeout
    while True:
        now = time.perf_counter()
        if condition():
            return now
        if now > deadline:
            raise AdminError(f"not reached within {timeout}s")
        time.sleep(pause)


def _row_counts(database: Database) -> int | None:
    """Rows inserted plus rows updated in the record table so far, by every process
    (PostgreSQL's statistics; ``None`` on SQLite, which has none across processes)."""
    if database.server is None:
        return None
    time.sleep(1.5)  # backends flush their statistics at most once a second
    found = database.server.psql(
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_user_tables "
        "WHERE relname = 'django_gearman_jobrecord'",
        database.settings["NAME"],
    )
    return int(found.strip() or 0)


def _tables(
    report: Report,
    dispatch: dict[str, list[Sample]],
    drain: dict[str, list[Sample]],
    writes: dict[str, float],
) -> None:
    for key, title, samples in (
        ("stored_dispatch", "5a. dispatch() per second, no worker", dispatch),
        ("stored_drain", "5b. One worker process draining pre-dispatched jobs", drain),
    ):
        table = Table(key, title, ["jobs", "jobs/s (median)", "µs per job", "store costs µs/job"])
        medians = {
            name: statistics.median(s.rate for s in found) for name, found in samples.items()
        }
        for name, rate in medians.items():
            report.metrics[f"{key}.{name}"] = rate
            plain = medians.get(name.replace("stored", "unstored", 1))
            extra = 1 / rate - 1 / plain if name.startswith("stored") and plain else None
            if extra is not None:
                report.metrics[f"{key}.cost_us.{name}"] = extra * 1e6
            table.add(name, fmt_rate(rate), fmt_us(1 / rate), fmt_us(extra) if extra else "")
        report.tables.append(table)
    writes_table = Table("stored_writes", "5c. Rows written per stored job", ["database", "rows"])
    for label, value in writes.items():
        report.metrics[f"stored_writes.{label}"] = value
        writes_table.add(label, f"{value:.2f}")
    writes_table.notes.append(
        "Inserted plus updated rows of django_gearman_jobrecord per stored job, all processes "
        "(PostgreSQL table statistics): the client's INSERT and handle UPDATE, the worker's "
        "start and finish UPDATEs. SQLite runs the same statements."
    )
    report.tables.append(writes_table)
