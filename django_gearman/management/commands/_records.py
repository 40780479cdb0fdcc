"""Record selection shared by gearman_retry and gearman_cancel (not a command itself)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.core.management.base import CommandError, CommandParser

MAX_SELECTED = 10_000  # records one command run acts on, at most


def add_selection_options(parser: CommandParser, status_help: str) -> None:
    parser.add_argument("ids", nargs="*", help="record ids (32 hex digits, hyphens allowed)")
    parser.add_argument("--job", help=f"every {status_help} record of this job")
    parser.add_argument(
        "--limit", type=int, default=100, help="at most this many records with --job (100)"
    )


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
