"""``manage.py gearman_cancel``: cancel stored jobs that have not started, as the admin does.

A queued job becomes CANCELLED and is removed from gearmand's queue; a running job is only asked
to stop (``current_job().cancel_requested``).
"""

from __future__ import annotations

import uuid

from django_gearman.management.commands._records import RecordCommand


class Command(RecordCommand):
    help = "Cancel queued stored jobs (running ones are asked to stop)."
    statuses = ("READY",)
    verb = "cancelled"

    def act(self, record_id: uuid.UUID) -> tuple[bool, str]:
        from django_gearman.console.operations import cancel
        from django_gearman.models import JobRecord
        from django_gearman.results import ResultDoesNotExist

        try:
            if cancel(record_id):
                return True, "cancelled"
        except ResultDoesNotExist:
            return False, "no such record"
        status = JobRecord.objects.filter(pk=record_id).values_list("status", flat=True).first()
        if status == "RUNNING":
            return False, "running: asked to stop"
        return False, f"not cancelled, it is {str(status).lower()}"
