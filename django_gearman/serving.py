"""Serving jobs in one worker process: the transport callback per job, its log line, the
worker built from the registry, and the child's signal handling.

A child ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the supervisor
relays it once as SIGTERM); its own first SIGTERM finishes the current job, a second exits
immediately. An orphaned child (its supervisor was killed) finishes its job and exits.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from .calls import JobSpec, execute, job_spec, log, log_job
from .conf import get_settings
from .declaration import GearmanJob, registry
from .protocol import Worker, WorkerJob
from .retries import NO_RETRIES
from .schemas.budgets import check_budget
from .signals import JobLifecycle, close_old_connections_if_opened

STOP_GRACE_SECONDS = 300.0  # how long a child asked to stop may take to finish its job
PARENT_CHECK_SECONDS = 1.0


def job_callback(
    spec: JobSpec, declared: GearmanJob[Any, Any] | None = None
) -> Callable[[WorkerJob], bytes]:
    """The transport callback of one job: run it between Django's connection hygiene, and log
    one line (never the payload). ``declared`` (the registered job) sends the signals and gives
    the retries of its records."""
    lifecycle = JobLifecycle(
        registry.registered(declared),
        declared.retry_policy if declared is not None else NO_RETRIES,
    )

    def run(job: WorkerJob) -> bytes:
        handle = job.handle.decode("ascii", "replace")
        started = time.monotonic()
        failure: BaseException | None = None
        if spec.payload_budget is not None:  # calls from peers, too, warn before the limit
            check_budget(
                spec.name, len(job.data), spec.payload_budget, spec.max_payload_size, "received"
            )
        close_old_connections_if_opened()
        try:
            return execute(
                spec,
                job.data,
                handle=handle,
                send_status=job.send_status,
                send_data=job.send_data,
                send_warning=job.send_warning,
                lifecycle=lifecycle,
            )
        except BaseException as exc:  # JobError: refused or raised; anything else: a crash
            failure = exc
            raise
        finally:
            close_old_connections_if_opened()
            log_job(spec.name, handle, started, len(job.data), failure)

    return run


def build_worker(
    jobs: Sequence[GearmanJob[Any, Any]], servers: Sequence[str] | None = None
) -> Worker:
    """A transport worker serving ``jobs`` (each under its wire name, with its CAN_DO_TIMEOUT)."""
    current = get_settings()
    worker = Worker(
        list(servers or current.servers),
        connect_timeout=current.connect_timeout,
        client_id=f"django-gearman-{os.getpid()}",
    )
    for job in jobs:
        spec = job_spec(job)
        worker.register(spec.wire_name, job_callback(spec, job), timeout=job.worker_timeout)
    return worker


def run_child(
    jobs: Sequence[GearmanJob[Any, Any]],
    max_jobs: int | None,
    servers: Sequence[str] | None = None,
    parent_pid: int | None = None,
) -> int:
    """Serve jobs in this process until stopped or ``max_jobs``; returns the jobs done.

    A worker of stored jobs first marks the records that dead worker processes of this host
    left RUNNING (``store.mark_lost``), unless gearmand still holds their job: that one comes
    back to a worker, which takes its record over.
    """
    if any(job.stores_results for job in jobs):
        _mark_lost_records(list(servers or get_settings().servers))
    worker = build_worker(jobs, servers)
    signals_seen = 0

    def on_term(signum: int, frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            os._exit(128 + signum)
        log.info("worker %d: finishing the current job, then exiting", os.getpid())
        worker.stop()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    stop_watching = threading.Event()
    if parent_pid is not None:
        threading.Thread(
            target=_watch_parent, args=(parent_pid, worker, stop_watching), daemon=True
        ).start()
    try:
        return worker.work(max_jobs=max_jobs)
    finally:
        stop_watching.set()
        worker.close()


def _mark_lost_records(servers: Sequence[str]) -> None:
    """``store.mark_lost`` at the start of a worker of stored jobs; a database that is down
    (or not configured) must not keep the worker from serving its other jobs (the stored ones
    will report the database error)."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from .store import mark_lost

    try:
        mark_lost(servers=servers)
    except (DatabaseError, ImproperlyConfigured) as exc:
        log.error("worker %d: cannot check for lost job records: %s", os.getpid(), exc)


def _watch_parent(parent_pid: int, worker: Worker, stop_watching: threading.Event) -> None:
    """An orphaned child (its supervisor was killed) finishes its job and exits."""
    while not stop_watching.wait(PARENT_CHECK_SECONDS):
        if os.getppid() != parent_pid:
            log.warning("worker %d: supervisor %d is gone; exiting", os.getpid(), parent_pid)
            worker.stop()
            if stop_watching.wait(STOP_GRACE_SECONDS):
                return
            os._exit(1)
