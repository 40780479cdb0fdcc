"""deploy.place as it was (the snapshot): the other deploys/ modules change it."""

from __future__ import annotations

from django_gearman import gearman_job


@gearman_job(name="deploy.place", version=1)
def place(customer: str, quantity: int, note: str = "") -> str:
    return f"{customer}:{quantity}:{note}"


@gearman_job(name="deploy.stats")
def stats(values: list[int]) -> int:
    return sum(values)
