"""django-gearman: a plain ``@gearman_job`` served by ``manage.py gearman_worker -w N``."""

from __future__ import annotations

from collections.abc import Sequence

from bench.admin import AdminConnection
from bench.peers.base import JOB_TIMEOUT, TEXT, Peer, PeerClient, PeerEnvironment, check_echo
from bench.peers.project import SETTINGS_MODULE, setup_django
from bench.processes import WorkerSpec

FILL_CHUNK = 1_000


class GearmanPeerClient(PeerClient):
    """``job.submit`` / ``job.dispatch`` / ``GearmanClient.do_tasks``, as the README shows."""

    def __init__(self, env: PeerEnvironment) -> None:
        setup_django()
        from bench.peers.project.gearman_jobs import echo
        from django_gearman import GearmanClient, Task

        self.client = GearmanClient([env.gearmand], timeout=JOB_TIMEOUT)
        self.job = echo.using(client=self.client)
        self.name = echo.name
        self.wire_name = echo.wire_name
        self.task = Task
        self.admin = AdminConnection(env.gearmand)

    def call(self, text: str) -> str:
        return self.job.submit(text)

    def enqueue(self, text: str) -> None:
        self.job.dispatch(text)

    def call_many(self, texts: Sequence[str]) -> int:
        results = self.client.do_tasks([self.task(self.name, text) for text in texts])
        for result, text in zip(results, texts, strict=True):
            check_echo(result, text)
        return len(results)

    def fill(self, count: int) -> None:
        for start in range(0, count, FILL_CHUNK):
            size = min(FILL_CHUNK, count - start)
            self.client.do_tasks([self.task(self.name, TEXT, background=True)] * size)

    def pending(self) -> int:
        return self.admin.function(self.wire_name).queued  # gearmand's total: queued + running

    def close(self) -> None:
        self.client.close()
        self.admin.close()


def gearman_workers(env: PeerEnvironment, processes: int) -> list[WorkerSpec]:
    command = ["-m", "django", "gearman_worker", "-w", str(processes), "--servers", env.gearmand]
    command += ["--settings", SETTINGS_MODULE, "--log-level", "WARNING"]
    return [env.worker(command, None)]


GEARMAN = Peer(
    key="ours",
    label="ours: django-gearman (gearman_worker)",
    configuration=(
        "`@gearman_job` typed echo, json envelope; `manage.py gearman_worker -w N` (a supervisor "
        "and N forked worker processes); gearmand 1.1.20 `--threads=1`, in-memory queue"
    ),
    favours="jobs are pushed (the worker sleeps in PRE_SLEEP and is woken by NOOP): no polling",
    handicaps="arguments and result validated against the annotations on both sides; no result "
    "is stored anywhere (a background job's outcome is not kept)",
    workers=gearman_workers,
    client=GearmanPeerClient,
    family="ours",
)
