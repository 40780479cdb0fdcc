"""``manage.py gearman_scheduler``: release deferred and retried jobs on time, run periodic jobs.

Run one or more (they agree through the database, see ``django_gearman.scheduler``). The loop
ticks at least every ``--interval`` seconds, sooner when the next known due time is nearer. A
first SIGTERM or SIGINT finishes the current tick and exits 0; a second one exits at once (a
claim left half-done is released again by the next scheduler after ``--claim-timeout``).
Before the loop it runs only django-gearman's system checks (``GearmanChecksOnly``).
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from django_gearman.management.commands._options import add_servers_option, servers_or_error
from django_gearman.management.commands.gearman_worker import (
    GearmanChecksOnly,
    _log_to_stderr,
    positive_int,
)
from django_gearman.protocol import Backoff

log = logging.getLogger("django_gearman.scheduler")
MAX_PAUSE_AFTER_ERROR = 10.0


def positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise ValueError(text)
    return value


def duration(text: str) -> float:
    """Seconds, up to a week."""
    value = float(text)
    if not 0 < value <= 7 * 86400:
        raise ValueError(text)
    return value


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


class Command(GearmanChecksOnly):
    help = (
        "Hand deferred and retried jobs to gearmand when they fall due, and start the runs of "
        "periodic jobs (several schedulers may run at once). SIGTERM/SIGINT stop after the tick."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run one tick, then exit")
        parser.add_argument(
            "--interval",
            type=positive_float,
            default=0.5,
            help="longest pause between ticks in seconds (default 0.5)",
        )
        parser.add_argument(
            "--batch",
            type=positive_int,
            default=100,
            help="most records released per tick (default 100)",
        )
        parser.add_argument(
            "--claim-timeout",
            type=positive_float,
            default=60.0,
            help="seconds after which a claim whose submit never completed is released again",
        )
        parser.add_argument(
            "--lost-after",
            type=duration,
            default=None,
            help="seconds after which a job RUNNING on another host's worker counts as lost "
            "(default: only workers of this host are checked, by their process)",
        )
        parser.add_argument(
            "--log-level",
            default=None,
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="level of the scheduler log (default: the level LOGGING sets, else INFO)",
        )
        add_servers_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        _log_to_stderr(options["log_level"])
        from django_gearman.client import GearmanClient
        from django_gearman.scheduler import (
            Scheduler,
            check_periodic_calls,
            periodic_jobs,
        )

        servers = servers_or_error(options["servers"])
        periodic = periodic_jobs()
        problems = check_periodic_calls(periodic)
        if problems:
            raise CommandError("; ".join(problems))
        client = GearmanClient(servers)
        scheduler = Scheduler(
            client.transport,
            periodic=periodic,
            batch=options["batch"],
            claim_timeout=timedelta(seconds=options["claim_timeout"]),
            lost_after=timedelta(seconds=lost_after)
            if (lost_after := options["lost_after"])
            else None,
        )
        names = ", ".join(f"{p.job.name} ({p.schedule.describe()})" for p in periodic) or "none"
        self.stdout.write(f"Scheduler started; periodic jobs: {names}")
        self.stdout.flush()
        stop = _StopOnSignal()
        try:
            _loop(scheduler, stop, options["interval"], once=options["once"])
        finally:
            stop.restore()
            client.close()


class _StopOnSignal:
    """First SIGTERM/SIGINT: stop after the current tick. Second: exit now."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise SystemExit(128 + signum)
        log.info("scheduler: signal %d, stopping after this tick", signum)
        self.event.set()

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _loop(scheduler: Any, stop: _StopOnSignal, interval: float, *, once: bool) -> None:
    """Tick until stopped: sleep until the next known due time, at most ``interval``; after a
    database error or a failed release, back off (the transport's one backoff rule)."""
    backoff = Backoff(interval, max(interval, MAX_PAUSE_AFTER_ERROR))
    while not stop.event.is_set():
        close_old_connections()  # as around a request: a dropped connection is reopened
        try:
            report = scheduler.tick()
        except DatabaseError as exc:
            log.warning("scheduler: database error %s: %s", type(exc).__name__, exc)
            pause = backoff.next()
        else:
            if report.failed:  # gearmand unreachable: do not hammer it every tick
                pause = backoff.next()
            else:
                backoff.reset()
                pause = interval
                if report.next_due is not None:
                    until_due = (report.next_due - timezone.now()).total_seconds()
                    pause = min(interval, max(0.0, until_due))
        if once:
            break
        stop.event.wait(pause)
    close_old_connections()
