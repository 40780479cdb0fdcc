"""``manage.py gearman_retry``: submit failed or cancelled jobs again, as the admin's action does.

Each retry is a new record linked to the old one (``retry_of``) with the same call.
"""

from __future__ import annotations

import uuid

from django_gearman.management.commands._records import RecordCommand


class Command(RecordCommand):
    help = "Retry failed or cancelled stored jobs (each becomes a new record linked to the old)."
    statuses = ("FAILED",)
    verb = "retried"

    def act(self, record_id: uuid.UUID) -> tuple[bool, str]:
        from django_gearman.console.operations import RetryRefused, retry

        try:
            outcome = retry(record_id)
        except RetryRefused as exc:
            return False, f"not retried: {exc}"
        return True, f"retried as {outcome.new.hex}"
