"""deploy.place after compatible changes: a widened type, a new optional parameter."""

from __future__ import annotations

from django_gearman import gearman_job


@gearman_job(name="deploy.place", version=1)
def place(customer: str, quantity: int | float, note: str = "", rush: bool = False) -> str:
    return f"{customer}:{quantity}:{note}:{rush}"


@gearman_job(name="deploy.stats")
def stats(values: list[int], scale: int = 1) -> int:
    return sum(values) * scale


@gearman_job(name="deploy.new_job")
def new_job() -> None:
    return None
