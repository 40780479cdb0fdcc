"""Our django.tasks backend: the same ``@task`` as the django-tasks-db peer, bound to
``GearmanBackend``, served by ``manage.py gearman_worker -w N``, results in the same SQLite file."""

from __future__ import annotations

from bench.peers.base import JOB_TIMEOUT, Peer, PeerEnvironment, PeerFailure
from bench.peers.gearman_peer import gearman_workers
from bench.peers.project import setup_django
from bench.peers.tasks_db_peer import TasksDBPeerClient, database_unlocked


class GearmanTasksPeerClient(TasksDBPeerClient):
    """``task.enqueue(...)``, then ``django_gearman.tasks.wait(result, timeout)`` (the backend's
    way to wait: it attaches to the Gearman job instead of re-reading the row); the task (bound
    to the ``gearman`` alias) and the rows (``JobRecord``) differ from django-tasks-db's."""

    def __init__(self, env: PeerEnvironment) -> None:
        super().__init__(env)
        setup_django()
        from bench.peers.project.gearman_tasks import echo
        from django_gearman import GearmanClient
        from django_gearman.models import JobRecord
        from django_gearman.tasks import wait

        self.client = GearmanClient([env.gearmand], timeout=JOB_TIMEOUT)
        echo.get_backend().use_client(self.client)  # type: ignore[attr-defined]
        self.task = echo
        self.rows = JobRecord.objects  # type: ignore[assignment]
        self.wait = wait

    def _wait(self, result: object) -> object:
        finished = self.wait(result, JOB_TIMEOUT)  # type: ignore[arg-type]
        if finished.status != self.successful:
            raise PeerFailure(f"GearmanBackend task ended {finished.status}")
        return finished.return_value

    def close(self) -> None:
        self.client.close()


TASKS_GEARMAN = Peer(
    key="ours-tasks",  # the key bench.peers.targets names (OUR_TASKS)
    label="ours: django.tasks on GearmanBackend (gearman_worker)",
    configuration="the django-tasks-db peer's `@task`, `TASKS['gearman']` = "
    "`django_gearman.tasks.GearmanBackend` (results in the same SQLite file, WAL); "
    "`manage.py gearman_worker -w N`",
    favours="the task is pushed to a sleeping worker (no polling); the client waits with "
    "`django_gearman.tasks.wait(result, timeout)`, which attaches to the task's Gearman job "
    "(a foreground submit of its unique id) and reads the row when WORK_COMPLETE arrives",
    handicaps="every task is a row inserted, its Gearman handle noted, a conditional start and "
    "a finish (4 writes on SQLite, which serialises writers); arguments validated on both sides",
    workers=gearman_workers,
    client=GearmanTasksPeerClient,
    family="ours-tasks",
    released=database_unlocked,  # a worker frozen inside a SQLite write would lock the file
)
