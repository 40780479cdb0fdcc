"""RQ on Redis: the default worker (a fork per job) and SimpleWorker (in-process)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from bench.peers.base import JOB_TIMEOUT, TEXT, Peer, PeerClient, PeerEnvironment, PeerFailure
from bench.processes import WorkerSpec

DEFAULT_DATABASE = 3
SIMPLE_DATABASE = 4
QUEUE = "bench"
FILL_CHUNK = 1_000


class RQPeerClient(PeerClient):
    """``queue.enqueue`` and ``job.latest_result(timeout=...)``, which blocks on the result
    stream (XREAD); background jobs pass ``result_ttl=0`` so nothing is kept."""

    def __init__(self, env: PeerEnvironment, database: int) -> None:
        import redis
        from rq import Queue
        from rq.registry import StartedJobRegistry
        from rq.results import Result

        from bench.peers.project.rq_jobs import echo

        self.redis = redis.Redis.from_url(env.redis_url(database))
        self.queue = Queue(QUEUE, connection=self.redis)
        self.echo = echo
        self.successful = Result.Type.SUCCESSFUL
        self.unfinished_lists = (self.queue.key, self.queue.intermediate_queue_key)
        self.started_key = StartedJobRegistry(queue=self.queue).key

    def _result(self, job: object) -> object:
        result = job.latest_result(timeout=int(JOB_TIMEOUT))  # type: ignore[attr-defined]
        if result is None or result.type != self.successful:
            raise PeerFailure(f"RQ job ended {None if result is None else result.type}")
        return result.return_value

    def call(self, text: str) -> str:
        answer = self._result(self.queue.enqueue(self.echo, text))
        return answer  # type: ignore[return-value]

    def enqueue(self, text: str) -> None:
        self.queue.enqueue(self.echo, text, result_ttl=0)

    def call_many(self, texts: Sequence[str]) -> int:
        jobs = self.queue.enqueue_many([self.queue.prepare_data(self.echo, (t,)) for t in texts])
        for job, text in zip(jobs, texts, strict=True):
            if self._result(job) != text:
                raise PeerFailure("RQ returned another value")
        return len(jobs)

    def fill(self, count: int) -> None:
        for start in range(0, count, FILL_CHUNK):
            size = min(FILL_CHUNK, count - start)
            data = self.queue.prepare_data(self.echo, (TEXT,), result_ttl=0)
            self.queue.enqueue_many([data] * size)

    def pending(self) -> int:
        with self.redis.pipeline(transaction=False) as pipe:
            for key in self.unfinished_lists:
                pipe.llen(key)
            pipe.zcard(self.started_key)
            return sum(int(n) for n in pipe.execute())

    def purge(self) -> None:
        self.redis.flushdb()

    def close(self) -> None:
        self.redis.close()


def _workers(
    worker_class: str, database: int
) -> Callable[[PeerEnvironment, int], list[WorkerSpec]]:
    def specs(env: PeerEnvironment, processes: int) -> list[WorkerSpec]:
        made = []
        for _ in range(processes):
            name = f"bench-{secrets.token_hex(4)}"  # a restarted worker must not reuse a name
            command = ["-m", "rq.cli", "worker", "-u", env.redis_url(database), "-w", worker_class]
            command += ["-n", name, "--logging_level", "WARNING", QUEUE]
            made.append(env.worker(command, database))
        return made

    return specs


def _client(database: int) -> Callable[[PeerEnvironment], PeerClient]:
    return lambda env: RQPeerClient(env, database)


RQ_DEFAULT = Peer(
    key="rq",
    label="RQ, default worker",
    configuration="`rq worker` (N processes for N workers), pickle serializer (the default), "
    "results kept 500 s (the default) for round trips",
    favours="the worker blocks on the queue (BLMOVE, no polling); the client blocks on the "
    "result stream (XREAD), no polling",
    handicaps="forks a work horse process per job (the isolation RQ is built on)",
    workers=_workers("rq.worker.Worker", DEFAULT_DATABASE),
    client=_client(DEFAULT_DATABASE),
    family="rq",
)
RQ_SIMPLE = Peer(
    key="rq-simple",
    label="RQ, SimpleWorker",
    configuration="`rq worker -w rq.worker.SimpleWorker` (N processes), otherwise as the "
    "default worker",
    favours="runs the job in the worker process (no fork); BLMOVE and XREAD, no polling",
    handicaps="several Redis round trips per job (registries, job hash, result stream)",
    workers=_workers("rq.worker.SimpleWorker", SIMPLE_DATABASE),
    client=_client(SIMPLE_DATABASE),
    family="rq",
)
