"""The benchmark's job: a typed echo, so the timings are the framework's, not the job's."""

from __future__ import annotations

from django_gearman import gearman_job


@gearman_job
def echo(text: str) -> str:
    """Return the argument; its annotation makes the call and result go through validation."""
    return text


@gearman_job(store_result=True)
def stored_echo(text: str) -> str:
    """``echo`` with its result stored (bench/stored.py: the store's cost per job)."""
    return text
