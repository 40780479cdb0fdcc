"""``manage.py gearman_worker -w N -q QUEUE``: serve the registered jobs.

Before serving it runs only django-gearman's system checks (``GearmanChecksOnly``, which
``gearman_scheduler`` shares).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_gearman.checks import TAG, worker_checks
from django_gearman.management.commands._options import (
    add_queue_option,
    add_servers_option,
    servers_or_error,
)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class GearmanChecksOnly(BaseCommand):
    """A long-running command that checks, before ``handle``, only what it depends on.

    Django's default (``"__all__"``) would run every app's model checks and the URL checks,
    which import ``ROOT_URLCONF`` and with it every view of the project, in a process that serves
    no URL; ``manage.py check`` (and ``--deploy``) still run them. What is run: every check
    tagged ``gearman`` and the Gearman task backends' checks, with Django's own output (errors
    stop the command, warnings are printed) and its ``--skip-checks``.
    """

    requires_system_checks = [TAG]

    def check(self, *args: Any, **kwargs: Any) -> None:
        with worker_checks():
            super().check(*args, **kwargs)


class Command(GearmanChecksOnly):
    help = (
        "Start Gearman workers for the jobs of the installed apps: a supervising process and "
        "-w worker processes, restarted if they crash. SIGTERM/SIGINT finish the current jobs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-w",
            "--workers",
            type=positive_int,
            default=1,
            help="number of worker processes (default 1)",
        )
        add_queue_option(parser, "serve only this queue's jobs (repeatable; default: all jobs)")
        parser.add_argument(
            "--max-jobs",
            type=positive_int,
            default=None,
            help="replace a worker process after it has done this many jobs",
        )
        parser.add_argument(
            "--log-level",
            default=None,
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="level of the worker log (default: the level LOGGING sets, else INFO)",
        )
        add_servers_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        _log_to_stderr(options["log_level"])
        from django_gearman.declaration import registry
        from django_gearman.supervisor import Supervisor
        from serializers import SerializerError

        servers = servers_or_error(options["servers"])
        jobs = registry.for_queues(options["queues"])
        if not jobs:
            wanted = ", ".join(options["queues"]) or "any queue"
            raise CommandError(f"no job to serve ({wanted}); see manage.py gearman_list_tasks")
        names = ", ".join(job.name for job in jobs)
        self.stdout.write(
            f"Serving {len(jobs)} job(s) with {options['workers']} worker(s): {names}"
        )
        self.stdout.flush()
        try:
            status = Supervisor(jobs, options["workers"], options["max_jobs"], servers).run()
        except SerializerError as exc:  # a job's spec, built before the first fork
            raise CommandError(f"cannot serve the jobs: {exc}") from exc
        if status:
            sys.exit(status)


def _log_to_stderr(level: str | None) -> None:
    """One line per job on stderr, unless the project's LOGGING already routes these logs.

    A level set in LOGGING is kept (a project may silence the per-job lines); ``--log-level``
    overrides it; otherwise the worker logs at INFO.
    """
    logger = logging.getLogger("django_gearman")
    if level is not None:
        logger.setLevel(level)
    elif logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
