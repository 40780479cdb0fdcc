"""django-gearman's trivial job: a plain ``@gearman_job``, as a user would write it."""

from __future__ import annotations

from django_gearman import gearman_job


@gearman_job
def echo(text: str) -> str:
    """Return the argument (its annotation is validated on both sides, as in any typed job)."""
    return text


@gearman_job(store_result=True, queue="stored-sqlite")
def stored_echo_sqlite(text: str) -> str:
    """The echo with its record and result stored in the SQLite file (``ours-results-sqlite``)."""
    return text


@gearman_job(store_result=True, queue="stored-postgres")
def stored_echo_postgres(text: str) -> str:
    """The echo with its record in the private PostgreSQL server (``ours-results-postgres``)."""
    return text
