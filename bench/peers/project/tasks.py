"""django-tasks' trivial task, run by django-tasks-db's ``db_worker``."""

from __future__ import annotations

from django_tasks import task


@task()
def echo(text: str) -> str:
    """Return the argument."""
    return text
