"""``manage.py gearman_retry``: submit failed or cancelled jobs again, as the admin's action does.

Each retry is a new record linked to the old one (``retry_of``) with the same call.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_gearman.management.commands._records import add_selection_options, selected_ids


class Command(BaseCommand):
    help = "Retry failed or cancelled stored jobs (each becomes a new record linked to the old)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_selection_options(parser, "failed")

    def handle(self, *args: Any, **options: Any) -> None:
        from django_gearman.console.operations import RetryRefused, retry

        ids = selected_ids(options["ids"], options["job"], ("FAILED",), options["limit"])
        refused = 0
        for record_id in ids:
            try:
                outcome = retry(record_id)
            except RetryRefused as exc:
                refused += 1
                self.stderr.write(f"{record_id.hex}: not retried: {exc}")
                continue
            self.stdout.write(f"{record_id.hex}: retried as {outcome.new.hex}")
        if not ids:
            self.stdout.write("no matching record")
        if refused:
            raise CommandError(f"{refused} of {len(ids)} record(s) not retried")
