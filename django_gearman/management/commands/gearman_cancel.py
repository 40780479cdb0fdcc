"""``manage.py gearman_cancel``: cancel stored jobs that have not started, as the admin does.

A queued job becomes CANCELLED and is removed from gearmand's queue; a running job is only asked
to stop (``current_job().cancel_requested``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_gearman.management.commands._records import add_selection_options, selected_ids


class Command(BaseCommand):
    help = "Cancel queued stored jobs (running ones are asked to stop)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_selection_options(parser, "queued")

    def handle(self, *args: Any, **options: Any) -> None:
        from django_gearman.console.operations import cancel
        from django_gearman.models import JobRecord
        from django_gearman.results import ResultDoesNotExist

        ids = selected_ids(options["ids"], options["job"], ("READY",), options["limit"])
        missed = 0
        for record_id in ids:
            try:
                cancelled = cancel(record_id)
            except ResultDoesNotExist:
                missed += 1
                self.stderr.write(f"{record_id.hex}: no such record")
                continue
            if cancelled:
                self.stdout.write(f"{record_id.hex}: cancelled")
                continue
            status = JobRecord.objects.filter(pk=record_id).values_list("status", flat=True).first()
            missed += 1
            if status == "RUNNING":
                self.stdout.write(f"{record_id.hex}: running, asked to stop")
            else:
                self.stderr.write(f"{record_id.hex}: not cancelled, it is {str(status).lower()}")
        if not ids:
            self.stdout.write("no matching record")
        if missed:
            raise CommandError(f"{missed} of {len(ids)} record(s) not cancelled")
