"""Dramatiq on Redis with the Redis results backend: the default prefetch and a larger one."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.peers.base import JOB_TIMEOUT, TEXT, Peer, PeerClient, PeerEnvironment, check_echo
from bench.processes import WorkerSpec

DEFAULT_DATABASE = 5
PREFETCH_DATABASE = 6
THREADS = 8  # Dramatiq's default worker threads per process
LARGER_PREFETCH = 256  # the default is 2 x threads = 16
TIMEOUT_MS = int(JOB_TIMEOUT * 1000)


class DramatiqPeerClient(PeerClient):
    """``actor.send(...)`` and ``message.get_result(block=True)`` (BLPOP on the result key);
    background jobs are sent with ``store_results=False``."""

    def __init__(self, env: PeerEnvironment, database: int) -> None:
        import redis

        from bench.peers.project.dramatiq_actors import QUEUE, make_actor

        self.peer = make_actor(env.redis_url(database))
        self.actor = self.peer.echo
        self.redis = redis.Redis.from_url(env.redis_url(database))
        self.messages_key = f"dramatiq:{QUEUE}.msgs"  # every message until its ack deletes it

    def _result(self, message: object) -> object:
        return message.get_result(  # type: ignore[attr-defined]
            backend=self.peer.results, block=True, timeout=TIMEOUT_MS
        )

    def call(self, text: str) -> str:
        return self._result(self.actor.send(text))  # type: ignore[return-value]

    def enqueue(self, text: str) -> None:
        self.actor.send_with_options(args=(text,), store_results=False)

    def call_many(self, texts: Sequence[str]) -> int:
        messages = [self.actor.send(text) for text in texts]
        for message, text in zip(messages, texts, strict=True):
            check_echo(self._result(message), text)
        return len(messages)

    def fill(self, count: int) -> None:
        for _ in range(count):
            self.actor.send_with_options(args=(TEXT,), store_results=False)

    def pending(self) -> int:
        return int(self.redis.hlen(self.messages_key))

    def purge(self) -> None:
        self.redis.flushdb()

    def close(self) -> None:
        self.peer.broker.close()
        self.redis.close()


def _workers(
    database: int, prefetch: int | None
) -> Callable[[PeerEnvironment, int], list[WorkerSpec]]:
    def specs(env: PeerEnvironment, processes: int) -> list[WorkerSpec]:
        command = ["-m", "dramatiq", "bench.peers.project.dramatiq_actors"]
        command += ["--processes", str(processes), "--threads", str(THREADS), "--queues", "bench"]
        extra = {} if prefetch is None else {"dramatiq_queue_prefetch": str(prefetch)}
        return [env.worker(command, database, **extra)]

    return specs


def _client(database: int) -> Callable[[PeerEnvironment], PeerClient]:
    return lambda env: DramatiqPeerClient(env, database)


COMMON = f"`dramatiq --processes N --threads {THREADS}` (the default threads), Redis broker, "
DRAMATIQ_DEFAULT = Peer(
    key="dramatiq",
    label="Dramatiq, default prefetch",
    configuration=COMMON + f"prefetch {2 * THREADS} (the default, 2 x threads), Results "
    "middleware with the Redis backend",
    favours="8 threads per process take jobs in parallel; the client blocks on the result "
    "(BLPOP), no polling",
    handicaps="a consumer with an empty cache polls Redis with a growing back-off; a master "
    "process plus forked workers; every job is a Lua script call on Redis (enqueue, fetch, ack)",
    workers=_workers(DEFAULT_DATABASE, None),
    client=_client(DEFAULT_DATABASE),
    family="dramatiq",
)
DRAMATIQ_PREFETCH = Peer(
    key="dramatiq-prefetch",
    label=f"Dramatiq, prefetch {LARGER_PREFETCH}",
    configuration=COMMON + f"prefetch {LARGER_PREFETCH} (`dramatiq_queue_prefetch`), Results "
    "middleware with the Redis backend",
    favours="fetches up to 256 messages per Redis call (cheaper drains)",
    handicaps="as the default prefetch",
    workers=_workers(PREFETCH_DATABASE, LARGER_PREFETCH),
    client=_client(PREFETCH_DATABASE),
    family="dramatiq",
)
