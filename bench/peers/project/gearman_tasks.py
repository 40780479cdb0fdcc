"""The django-tasks-db peer's task, bound to our ``GearmanBackend`` (alias ``gearman``)."""

from __future__ import annotations

from django_tasks import task


@task(backend="gearman")
def echo(text: str) -> str:
    """Return the argument."""
    return text
