"""django-gearman's trivial job: a plain ``@gearman_job``, as a user would write it."""

from __future__ import annotations

from django_gearman import gearman_job


@gearman_job
def echo(text: str) -> str:
    """Return the argument (its annotation is validated on both sides, as in any typed job)."""
    return text
