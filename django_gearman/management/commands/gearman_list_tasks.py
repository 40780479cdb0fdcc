"""``manage.py gearman_list_tasks``: every registered job, its queue, codecs and signature."""

from __future__ import annotations

import inspect
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_gearman.management.commands._options import add_queue_option, settings_or_error
from django_gearman.tables import render_table


class Command(BaseCommand):
    help = "List the registered Gearman jobs: name, queue, serializer, accepted types, signature."

    def add_arguments(self, parser: CommandParser) -> None:
        add_queue_option(parser, "only jobs of this queue (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        from django_gearman.calls import job_spec
        from django_gearman.declaration import registry

        current = settings_or_error()
        rows = []
        for job in registry.for_queues(options["queues"]):
            spec = job_spec(job)
            rows.append(
                [
                    spec.wire_name,
                    job.queue or "-",
                    job.serializer or current.default_serializer,
                    ",".join(sorted(spec.request_policy.accept)),
                    f"{job.func.__name__}{inspect.signature(job.func)}",
                ]
            )
        headers = ["name", "queue", "serializer", "accepts", "signature"]
        self.stdout.write(render_table(headers, rows))
        self.stdout.write(f"{len(rows)} job(s)")
