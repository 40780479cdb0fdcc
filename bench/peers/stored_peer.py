"""django-gearman with results stored: ``@gearman_job(store_result=True)``, SQLite or PostgreSQL.

A round trip is ``job.submit(text)``: a stored job's foreground submit writes its record, and the
value comes back in WORK_COMPLETE once the worker has written the result (no polling). A
background enqueue is ``job.dispatch(text)``, which gives the ``StoredResult``; jobs in flight
are dispatched, then each ``StoredResult.wait``-ed, as a caller who keeps the ids would.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence

from bench.peers.base import JOB_TIMEOUT, TEXT, Peer, PeerClient, PeerEnvironment, check_echo
from bench.peers.gearman_peer import gearman_workers
from bench.peers.project import RESULTS_ALIAS_VARIABLE, setup_django
from bench.peers.tasks_db_peer import database_unlocked
from bench.processes import WorkerSpec

SQLITE_QUEUE = "stored-sqlite"  # the queues of bench.peers.project.gearman_jobs' stored echoes
POSTGRES_QUEUE = "stored-postgres"
UNFINISHED = ("READY", "RUNNING")


class StoredPeerClient(PeerClient):
    """One stored echo job, its records read and written in ``alias``."""

    def __init__(self, env: PeerEnvironment, job_attribute: str, alias: str) -> None:
        setup_django()
        from bench.peers.project import gearman_jobs
        from bench.peers.project.routing import results_in
        from django_gearman import GearmanClient
        from django_gearman.models import JobRecord

        declared = getattr(gearman_jobs, job_attribute)
        self.client = GearmanClient([env.gearmand], timeout=JOB_TIMEOUT)
        self.job = declared.using(client=self.client)
        self.records = JobRecord.objects.filter(job_name=declared.name)
        self.alias = alias
        self.results_in = results_in

    @contextlib.contextmanager
    def _store(self) -> Iterator[None]:
        with self.results_in(self.alias):
            yield

    def call(self, text: str) -> str:
        with self._store():
            return str(self.job.submit(text))

    def enqueue(self, text: str) -> None:
        with self._store():
            self.job.dispatch(text)

    def call_many(self, texts: Sequence[str]) -> int:
        with self._store():
            results = [self.job.dispatch(text) for text in texts]
            for result, text in zip(results, texts, strict=True):
                check_echo(result.wait(JOB_TIMEOUT).return_value, text)
        return len(results)

    def fill(self, count: int) -> None:
        """One transaction of records; each job is sent at the commit (``on_commit``)."""
        from django.db import transaction

        with self._store(), transaction.atomic(using=self.alias):
            for _ in range(count):
                self.job.dispatch(TEXT)

    def pending(self) -> int:
        with self._store():
            return int(self.records.filter(status__in=UNFINISHED).count())

    def purge(self) -> None:
        with self._store():
            self.records.delete()

    def close(self) -> None:
        self.client.close()


def _client(job_attribute: str, alias: str) -> Callable[[PeerEnvironment], PeerClient]:
    return lambda env: StoredPeerClient(env, job_attribute, alias)


def _workers(queue: str, alias: str) -> Callable[[PeerEnvironment, int], list[WorkerSpec]]:
    """``gearman_worker -w N -q QUEUE``, its records in ``alias`` (the environment says)."""

    def workers(env: PeerEnvironment, processes: int) -> list[WorkerSpec]:
        return [
            dataclasses.replace(
                spec,
                command=[*spec.command, "-q", queue],
                env={**spec.env, RESULTS_ALIAS_VARIABLE: alias},
            )
            for spec in gearman_workers(env, processes)
        ]

    return workers


STORED_CONFIGURATION = (
    "`@gearman_job(store_result=True)` typed echo: `job.submit` (round trip; the record is "
    "written first, the value returns in WORK_COMPLETE) and `job.dispatch` (enqueue; then "
    "`StoredResult.wait` for jobs in flight); `manage.py gearman_worker -w N -q {queue}`"
)
STORED_HANDICAPS = (
    "every job is a record inserted by the client, marked RUNNING and then SUCCESSFUL by the "
    "worker (3 commits; a dispatch also notes the Gearman handle: 4), each one SQL statement"
)

STORED_SQLITE = Peer(
    key="ours-results-sqlite",  # the key bench.peers.targets names (STORED_SQLITE)
    label="ours: results stored in SQLite (gearman_worker)",
    configuration=STORED_CONFIGURATION.format(queue=SQLITE_QUEUE)
    + "; records in the django-tasks-db peer's SQLite file (WAL, persistent connections: "
    "the same settings)",
    favours="the job is pushed to a sleeping worker and its value pushed back (no polling); "
    "WAL lets the client's reads overlap the worker's writes",
    handicaps=STORED_HANDICAPS + "; SQLite serialises writers, with an fsync per commit",
    workers=_workers(SQLITE_QUEUE, "default"),
    client=_client("stored_echo_sqlite", "default"),
    family="ours-results",
    released=database_unlocked,  # a worker frozen inside a SQLite write would lock the file
)

STORED_POSTGRES = Peer(
    key="ours-results-postgres",  # bench.peers.targets.STORED_POSTGRES (reported, no goal)
    label="ours: results stored in PostgreSQL (gearman_worker)",
    configuration=STORED_CONFIGURATION.format(queue=POSTGRES_QUEUE)
    + "; records in a private PostgreSQL server on loopback, started and removed by the run",
    favours="the server runs with `fsync=off`, `synchronous_commit=off` (a throwaway cluster): "
    "no disk wait per commit; row locks, so writers do not wait for each other",
    handicaps=STORED_HANDICAPS + "; every query is a round trip over TCP to the server "
    "(persistent connections, `CONN_MAX_AGE = None`)",
    workers=_workers(POSTGRES_QUEUE, "results"),
    client=_client("stored_echo_postgres", "results"),
    family="ours-results-postgres",
    needs_postgres=True,
)
