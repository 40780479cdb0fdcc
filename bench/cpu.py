"""CPU time per job of each process involved (client, worker processes, gearmand).

Wall-clock rates on a shared 2-core machine move with other load; the CPU each side spends per
job moves much less, and it says *where* the time goes. Linux only: it reads
``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds on CPU, per thread).
"""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Callable, Iterable
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (``gearman_worker -w N`` forks its workers)."""
    found = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += process_tree(int(child))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU time so far of every thread of these processes (ones that exited count as 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def own_cpu_seconds() -> float:
    """This process, plus children it has already waited for (the C tool's client runs)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return cpu_seconds([os.getpid()]) + children.ru_utime + children.ru_stime


class CpuMeter:
    """Snapshots of CPU seconds per role; ``roles`` maps a role to the pids it covers now."""

    def __init__(self, roles: dict[str, Callable[[], list[int]]]) -> None:
        self.roles = roles

    def snapshot(self, client_first: bool = False) -> dict[str, float]:
        """Read every role; our own reading goes last before a sample and first after it, so
        the cost of reading /proc is not charged to the client."""
        client = own_cpu_seconds() if client_first else None
        taken = {role: cpu_seconds(pids()) for role, pids in self.roles.items()}
        taken["client"] = client if client is not None else own_cpu_seconds()
        return taken

    @staticmethod
    def per_job(before: dict[str, float], after: dict[str, float], jobs: int) -> dict[str, float]:
        """Microseconds of CPU per job, per role."""
        return {role: (after[role] - before[role]) / max(jobs, 1) * 1e6 for role in before}
