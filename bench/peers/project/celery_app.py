"""Celery's trivial task on a Redis broker with the Redis result backend.

``make_app(url)`` builds one app per peer (each peer has its own Redis database); the worker
command loads ``app``, built from ``BENCH_PEERS_REDIS_URL``.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from bench.peers.project import redis_url

QUEUE = "bench"
TASK_NAME = "bench.peers.echo"


def make_app(url: str) -> Celery:
    """Defaults except what a benchmark must pin: the queue, JSON, and no chatter at start-up."""
    celery = Celery("bench_peers", broker=url, backend=url, set_as_current=False)
    celery.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        result_expires=3600,
    )
    celery.task(name=TASK_NAME)(echo)  # one function for every app: Celery warns otherwise
    return celery


def echo(text: str) -> str:
    """Return the argument."""
    return text


def __getattr__(name: str) -> Any:
    """``app`` is built on first access, so importing this module needs no broker URL."""
    if name == "app":
        built = make_app(redis_url())
        globals()["app"] = built
        return built
    raise AttributeError(name)
