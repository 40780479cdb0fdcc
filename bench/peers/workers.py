"""A peer's worker processes: started, frozen while other peers take their turn, and stopped.

Freezing (SIGSTOP, then SIGCONT) every process of a peer's tree while another peer is measured
means no idle worker polls or heartbeats on the shared 2 cores during someone else's round.
It also lets a drain start with warm workers: the queue is filled while they are frozen, and
the clock starts when they are thawed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

from bench.cpu import process_tree
from bench.peers.base import PeerFailure
from bench.processes import RunningWorkers, WorkerSpec

FREEZE_ATTEMPTS = 100


class PeerWorkers:
    """Context manager over ``RunningWorkers`` (own sessions, always stopped) plus freezing."""

    def __init__(self, specs: list[WorkerSpec], released: Callable[[], bool] | None = None) -> None:
        self.pool = RunningWorkers("", specs, wait_ready=False)
        self.released = released
        self.frozen: list[int] = []

    def __enter__(self) -> PeerWorkers:
        self.pool.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thaw()
        self.pool.stop()

    def pids(self) -> list[int]:
        return [pid for process in self.pool.processes for pid in process_tree(process.pid)]

    def freeze(self) -> None:
        """Stop every process of the tree at a moment when it holds nothing others need (a
        few retries, each after letting it run for a moment)."""
        for _ in range(FREEZE_ATTEMPTS):
            self.thaw()
            self.frozen = self.pids()
            for pid in self.frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
            if self.released is None or self.released():
                return
            self.thaw()
            time.sleep(0.002)
        raise PeerFailure(f"workers still held a lock after {FREEZE_ATTEMPTS} attempts to freeze")

    def thaw(self) -> None:
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def terminate(self) -> None:
        """Ask every worker to stop (SIGTERM to its group) without waiting: stopping many
        peers then overlaps, and ``__exit__`` only waits (and kills what still runs)."""
        self.thaw()
        for process in self.pool.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)

    def raise_if_exited(self) -> None:
        self.pool.raise_if_exited()
