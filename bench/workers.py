"""Echo workers, one kind a process, started by the benchmarks as subprocesses.

``python -m bench.workers KIND ADDRESS FUNCTION [--lifetime S] [--max-jobs N]`` serves FUNCTION
by returning each job's data unchanged, so every measurement compares only the machinery, never
the job's own work. Every kind stops by itself after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

from bench.wire import WireError, run_raw_worker

WORKER_KINDS = ("raw", "pygearman", "ours")


def run_pygearman_worker(address: str, function: str, lifetime: float, max_jobs: int) -> int:
    """pygearman 0.2.6's worker; its poll loop is told to stop by the after_* hooks."""
    import gearman

    deadline = time.monotonic() + lifetime
    done = 0

    class BoundedWorker(gearman.GearmanWorker):
        def after_poll(self, any_activity: bool) -> bool:
            return done < max_jobs and time.monotonic() < deadline

        def after_job(self) -> bool:
            return self.after_poll(True)

    def echo(_worker: object, job: gearman.job.GearmanJob) -> bytes:
        nonlocal done
        done += 1
        return job.data

    worker = BoundedWorker([address])
    worker.register_task(function.encode(), echo)  # it compares the bytes off the wire
    worker.work(poll_timeout=0.5)
    return done


def run_our_worker(address: str, function: str, lifetime: float, max_jobs: int) -> int:
    """Our transport's Worker; a timer asks it to stop when the lifetime is over."""
    from django_gearman.protocol import Worker, WorkerJob

    done = 0

    def echo(job: WorkerJob) -> bytes:
        nonlocal done
        done += 1
        return job.data

    worker = Worker([address])
    worker.register(function, echo)
    timer = threading.Timer(lifetime, worker.stop)
    timer.daemon = True
    timer.start()
    try:
        worker.work(max_jobs=max_jobs)
    finally:
        timer.cancel()
    return done


RUNNERS: dict[str, Callable[[str, str, float, int], int]] = {
    "raw": run_raw_worker,
    "pygearman": run_pygearman_worker,
    "ours": run_our_worker,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("kind", choices=WORKER_KINDS)
    parser.add_argument("address", help="HOST:PORT of gearmand (loopback)")
    parser.add_argument("function")
    parser.add_argument("--lifetime", type=float, default=600.0, help="seconds before exiting")
    parser.add_argument("--max-jobs", type=int, default=10**9)
    args = parser.parse_args(argv)
    try:
        RUNNERS[args.kind](args.address, args.function, args.lifetime, args.max_jobs)
    except (OSError, ValueError, WireError) as exc:
        parser.exit(2, f"{parser.prog}: {args.kind} worker on {args.address}: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
