"""Our django.tasks backend: the same ``@task`` as the django-tasks-db peer, bound to
``GearmanBackend``, served by ``manage.py gearman_worker -w N``, results in the same SQLite file."""

from __future__ import annotations

from bench.peers.base import JOB_TIMEOUT, Peer, PeerEnvironment
from bench.peers.gearman_peer import gearman_workers
from bench.peers.project import setup_django
from bench.peers.tasks_db_peer import TasksDBPeerClient, database_unlocked


class GearmanTasksPeerClient(TasksDBPeerClient):
    """``task.enqueue(...)`` and ``result.refresh()`` until finished, as for django-tasks-db;
    only the task (bound to the ``gearman`` alias) and the rows (``JobRecord``) differ."""

    def __init__(self, env: PeerEnvironment) -> None:
        super().__init__(env)
        setup_django()
        from bench.peers.project.gearman_tasks import echo
        from django_gearman import GearmanClient
        from django_gearman.models import JobRecord

        self.client = GearmanClient([env.gearmand], timeout=JOB_TIMEOUT)
        echo.get_backend().use_client(self.client)  # type: ignore[attr-defined]
        self.task = echo
        self.rows = JobRecord.objects  # type: ignore[assignment]

    def close(self) -> None:
        self.client.close()


TASKS_GEARMAN = Peer(
    key="ours-tasks",  # the key bench.peers.targets names (OUR_TASKS)
    label="ours: django.tasks on GearmanBackend (gearman_worker)",
    configuration="the django-tasks-db peer's `@task`, `TASKS['gearman']` = "
    "`django_gearman.tasks.GearmanBackend` (results in the same SQLite file, WAL); "
    "`manage.py gearman_worker -w N`",
    favours="the task is pushed to a sleeping worker (no polling); the client re-reads the "
    "result as often as the django-tasks-db client",
    handicaps="every task is a row inserted, its Gearman handle noted, a conditional start and "
    "a finish (4 writes on SQLite, which serialises writers); arguments validated on both sides",
    workers=gearman_workers,
    client=GearmanTasksPeerClient,
    family="ours-tasks",
    released=database_unlocked,  # a worker frozen inside a SQLite write would lock the file
)
