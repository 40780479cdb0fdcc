"""What a peer is to the harness: how to start its workers, and a client that drives its job.

Every peer runs the same trivial job (``echo(text) -> text``) through its own ordinary API; a
client method returns only once the framework confirmed the work (a result, or an enqueue that
was acknowledged) and raises ``PeerFailure`` otherwise, so a failure is never timed as work.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.peers.project import DATABASE_VARIABLE, REDIS_URL_VARIABLE, SETTINGS_MODULE
from bench.processes import WorkerSpec

JOB_TIMEOUT = 30.0  # seconds one job, or one batch in flight, may take before it is a failure
TEXT = "0123456789abcdef"  # the job's argument and result: 16 characters


class PeerFailure(RuntimeError):
    """A peer's job did not complete as expected; its row is left out of that table."""


@dataclass(frozen=True)
class PeerEnvironment:
    """The servers of one section: a private gearmand, a private Redis, the SQLite file."""

    gearmand: str
    redis_port: int
    database: Path
    lifetime: float  # seconds after which every worker process exits by itself

    def redis_url(self, database: int) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{database}"

    def variables(self, redis_database: int | None) -> dict[str, str]:
        """The environment of a worker process of a peer using that Redis database."""
        found = {"DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, DATABASE_VARIABLE: str(self.database)}
        if redis_database is not None:
            found[REDIS_URL_VARIABLE] = self.redis_url(redis_database)
        return found

    def worker(self, command: list[str], redis_database: int | None, **extra: str) -> WorkerSpec:
        """``python COMMAND`` as a worker process with the peer's environment (plus ``extra``)
        that exits by itself after ``lifetime``, so it never outlives the run."""
        bounded = ["timeout", str(int(self.lifetime) + 1), sys.executable, *command]
        return WorkerSpec(bounded, function="", env={**self.variables(redis_database), **extra})


class PeerClient:
    """The operations the sections time, through the peer's own client API."""

    def call(self, text: str) -> str:
        """Submit one job and wait for its result."""
        raise NotImplementedError

    def enqueue(self, text: str) -> None:
        """Queue one job in the background, without a result."""
        raise NotImplementedError

    def call_many(self, texts: Sequence[str]) -> int:
        """Submit all jobs, then wait for every result; how many completed."""
        raise NotImplementedError

    def fill(self, count: int) -> None:
        """Queue ``count`` background jobs as fast as the API allows (not timed)."""
        raise NotImplementedError

    def pending(self) -> int:
        """Jobs the broker holds that are not finished (queued, reserved or running)."""
        raise NotImplementedError

    def purge(self) -> None:
        """Drop whatever this peer left queued or stored (between sections)."""

    def close(self) -> None:
        """Release connections."""


@dataclass(frozen=True)
class Peer:
    """One row of every table. ``workers(env, processes)`` gives the worker processes to start
    for that many worker processes; ``client(env)`` connects the client."""

    key: str
    label: str
    configuration: str  # what runs, as a user would start it
    favours: str  # what in this configuration helps it
    handicaps: str  # what costs it
    workers: Callable[[PeerEnvironment, int], list[WorkerSpec]]
    client: Callable[[PeerEnvironment], PeerClient]
    family: str = ""  # peers of one family are compared with their best row in the targets
    # After its workers were frozen: True if they hold nothing others wait for (a frozen
    # db_worker may sit inside its exclusive SQLite transaction); False thaws and freezes again.
    released: Callable[[PeerEnvironment], bool] | None = None
    needs_postgres: bool = False  # the run starts its private PostgreSQL server for this peer
    notes: tuple[str, ...] = field(default_factory=tuple)


def check_echo(answer: object, sent: str) -> None:
    if answer != sent:
        raise PeerFailure(f"the job returned {answer!r}, sent {sent!r}")
