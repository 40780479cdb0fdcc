"""Dramatiq's trivial actor on a Redis broker, with the Redis results backend.

``make_actor(url)`` builds a broker and the actor for one peer (each peer has its own Redis
database); the worker command imports this module, which sets up the broker of
``BENCH_PEERS_REDIS_URL`` as Dramatiq's global broker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

from bench.peers.project import REDIS_URL_VARIABLE

ACTOR_NAME = "echo"
QUEUE = "bench"


@dataclass(frozen=True)
class DramatiqPeer:
    broker: RedisBroker
    results: RedisBackend
    echo: Any


def make_actor(url: str) -> DramatiqPeer:
    """A broker with the results middleware, and the echo actor declared on it."""
    broker = RedisBroker(url=url)
    results = RedisBackend(url=url)
    broker.add_middleware(Results(backend=results))

    def echo(text: str) -> str:
        return text

    declare = dramatiq.actor(
        actor_name=ACTOR_NAME, queue_name=QUEUE, broker=broker, store_results=True
    )
    actor = declare(echo)
    return DramatiqPeer(broker, results, actor)


if os.environ.get(REDIS_URL_VARIABLE):  # the worker process: the CLI finds the global broker
    _worker_peer = make_actor(os.environ[REDIS_URL_VARIABLE])
    dramatiq.set_broker(_worker_peer.broker)
