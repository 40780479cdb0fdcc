"""Profile one side of a job path with pyinstrument, to explain a missed target.

``python -m bench.profiling client KIND [--jobs N]``: KIND's client (ours, django, raw,
pygearman) makes N sequential foreground calls, profiled, against a raw-socket worker (or the
Django worker for ``django``, which needs its envelope).
``python -m bench.profiling worker KIND [--jobs N]``: N background jobs are queued first, then
KIND's worker (ours, django) drains them in this process, profiled.
``--background`` profiles background submissions instead of foreground calls.
"""

from __future__ import annotations

import argparse
import contextlib
import functools

from pyinstrument import Profiler

from bench.background import django_payload, fill_queue
from bench.clients import SUBMITTERS
from bench.djangosite import ECHO_WIRE_NAME
from bench.harness import private_gearmand
from bench.processes import RunningWorkers, django_worker, python_worker
from bench.profile import TINY_PAYLOAD


def profile_client(kind: str, jobs: int, background: bool) -> Profiler:
    function = ECHO_WIRE_NAME if kind == "django" else "profile.echo"
    with contextlib.ExitStack() as stack:
        address = stack.enter_context(private_gearmand()).address
        if not background:
            spec = (
                django_worker(address, 1, 600)
                if kind == "django"
                else python_worker("raw", address, function, 600)
            )
            stack.enter_context(RunningWorkers(address, [spec]))
        submitter = SUBMITTERS[kind](address, function)
        stack.callback(submitter.close)
        argument = submitter.prepare(TINY_PAYLOAD)
        operation = functools.partial(
            submitter.submit_background if background else submitter.call, argument
        )
        for _ in range(50):
            operation()
        profiler = Profiler(interval=0.0001)
        with profiler:
            for _ in range(jobs):
                operation()
    return profiler


def profile_worker(kind: str, jobs: int) -> Profiler:
    with private_gearmand() as server:
        address = server.address
        if kind == "django":
            from bench.djangosite.gearman_jobs import echo
            from django_gearman.serving import build_worker

            fill_queue(address, ECHO_WIRE_NAME, django_payload(), jobs)
            worker = build_worker([echo], [address])
        else:
            from django_gearman.protocol import Worker, WorkerJob

            def echo_bytes(job: WorkerJob) -> bytes:
                return job.data

            fill_queue(address, "profile.echo", TINY_PAYLOAD, jobs)
            worker = Worker([address])
            worker.register("profile.echo", echo_bytes)
        profiler = Profiler(interval=0.0001)
        with profiler:
            done = worker.work(max_jobs=jobs)
        worker.close()
        if done != jobs:
            raise RuntimeError(f"worker did {done} of {jobs} jobs")
    return profiler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__)
    parser.add_argument("side", choices=("client", "worker"))
    parser.add_argument("kind", choices=("ours", "django", "raw", "pygearman", "async"))
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--background", action="store_true")
    args = parser.parse_args(argv)
    if args.side == "client":
        profiler = profile_client(args.kind, args.jobs, args.background)
    else:
        profiler = profile_worker(args.kind, args.jobs)
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
