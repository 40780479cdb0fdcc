"""Celery 5 on Redis, with the Redis result backend for round trips: prefork and solo pools."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.peers.base import JOB_TIMEOUT, TEXT, Peer, PeerClient, PeerEnvironment, check_echo
from bench.processes import WorkerSpec

PREFORK_DATABASE = 1
SOLO_DATABASE = 2
UNACKED_KEY = "unacked"  # kombu's Redis transport: delivered, not yet acknowledged messages


class CeleryPeerClient(PeerClient):
    """``task.apply_async(...).get()``; background jobs pass ``ignore_result=True``."""

    def __init__(self, env: PeerEnvironment, database: int) -> None:
        import redis
        from celery.result import ResultSet

        from bench.peers.project.celery_app import QUEUE, TASK_NAME, make_app

        self.app = make_app(env.redis_url(database))
        self.task = self.app.tasks[TASK_NAME]
        self.results = ResultSet
        self.queue = QUEUE
        self.redis = redis.Redis.from_url(env.redis_url(database))

    def call(self, text: str) -> str:
        return self.task.apply_async((text,)).get(timeout=JOB_TIMEOUT)

    def enqueue(self, text: str) -> None:
        self.task.apply_async((text,), ignore_result=True)

    def call_many(self, texts: Sequence[str]) -> int:
        sent = self.results([self.task.apply_async((text,)) for text in texts], app=self.app)
        answers = sent.get(timeout=JOB_TIMEOUT)
        for answer, text in zip(answers, texts, strict=True):
            check_echo(answer, text)
        return len(answers)

    def fill(self, count: int) -> None:
        for _ in range(count):
            self.task.apply_async((TEXT,), ignore_result=True)

    def pending(self) -> int:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.llen(self.queue)
            pipe.hlen(UNACKED_KEY)
            queued, unacked = pipe.execute()
        return int(queued) + int(unacked)

    def purge(self) -> None:
        self.redis.flushdb()

    def close(self) -> None:
        self.app.close()
        self.redis.close()


def _celery_command(pool: str, concurrency: int, name: str) -> list[str]:
    return [
        "-m", "celery", "-A", "bench.peers.project.celery_app:app", "worker",
        "-P", pool, "-c", str(concurrency), "-n", f"{name}@%h", "-l", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip


def prefork_workers(env: PeerEnvironment, processes: int) -> list[WorkerSpec]:
    return [env.worker(_celery_command("prefork", processes, "prefork"), PREFORK_DATABASE)]


def solo_workers(env: PeerEnvironment, processes: int) -> list[WorkerSpec]:
    return [
        env.worker(_celery_command("solo", 1, f"solo{index}"), SOLO_DATABASE)
        for index in range(processes)
    ]


def _client(database: int) -> Callable[[PeerEnvironment], PeerClient]:
    return lambda env: CeleryPeerClient(env, database)


COMMON = (
    "Redis broker and Redis result backend, json, prefetch multiplier 4 (the default); "
    "`--without-gossip --without-mingle --without-heartbeat`"
)
CELERY_PREFORK = Peer(
    key="celery-prefork",
    label="Celery 5, prefork -c N",
    configuration=f"`celery worker -P prefork -c N`: {COMMON}",
    favours="no gossip, mingle or heartbeats (less start-up and idle work); the consumer blocks "
    "on BRPOP (no polling); 4 messages prefetched per process",
    handicaps="each job crosses a pipe from the consumer process to a pool child and back; the "
    "round trip's result goes through Redis (SET + PUBLISH) to the client's subscription",
    workers=prefork_workers,
    client=_client(PREFORK_DATABASE),
    family="celery",
)
CELERY_SOLO = Peer(
    key="celery-solo",
    label="Celery 5, solo pool",
    configuration=f"`celery worker -P solo` (N processes for N workers): {COMMON}",
    favours="the job runs in the consumer process itself (no pool pipe); BRPOP, no polling",
    handicaps="the round trip's result goes through Redis (SET + PUBLISH) to the client",
    workers=solo_workers,
    client=_client(SOLO_DATABASE),
    family="celery",
)
