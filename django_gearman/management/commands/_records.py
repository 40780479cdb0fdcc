"""What gearman_retry and gearman_cancel share: choosing records and acting on each one
(not a command itself)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

MAX_SELECTED = 10_000  # records one command run acts on, at most


def selected_ids(
    ids: Sequence[str], job: str | None, statuses: Sequence[str], limit: int
) -> list[uuid.UUID]:
    """The ids given, or the newest ``limit`` records of ``job`` in ``statuses``."""
    from django_gearman.models import JobRecord

    if bool(ids) == bool(job):
        raise CommandError("give record ids or --job NAME (not both)")
    if job:
        if not 0 < limit <= MAX_SELECTED:
            raise CommandError(f"--limit must be 1 to {MAX_SELECTED}")
        return list(
            JobRecord.objects.filter(job_name=job, status__in=statuses)
            .order_by("-enqueued_at")
            .values_list("pk", flat=True)[:limit]
        )
    parsed = []
    for text in ids[:MAX_SELECTED]:
        try:
            parsed.append(uuid.UUID(text))
        except ValueError:
            raise CommandError(f"not a record id: {text[:80]!r}") from None
    return parsed


class RecordCommand(BaseCommand):
    """Acts on each chosen record; exits 1 if any was not acted on, naming each one."""

    statuses: tuple[str, ...] = ()  # what ``--job`` selects
    verb = ""  # "retried", "cancelled": for the summary

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", help="record ids (32 hex digits, hyphens allowed)")
        parser.add_argument(
            "--job", help=f"the newest {'/'.join(self.statuses).lower()} records of this job"
        )
        parser.add_argument("--limit", type=int, default=100, help="with --job: at most (100)")

    def act(self, record_id: uuid.UUID) -> tuple[bool, str]:
        """(whether it was done, what to say about this record)."""
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        ids = selected_ids(options["ids"], options["job"], self.statuses, options["limit"])
        missed = 0
        for record_id in ids:
            done, message = self.act(record_id)
            (self.stdout if done else self.stderr).write(f"{record_id.hex}: {message}")
            missed += not done
        if not ids:
            self.stdout.write("no matching record")
        if missed:
            raise CommandError(f"{missed} of {len(ids)} record(s) not {self.verb}")
