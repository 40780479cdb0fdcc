"""deploy.place after breaking changes, same version: renamed, narrowed, a new required one."""

from __future__ import annotations

from typing import Literal

from django_gearman import gearman_job


@gearman_job(name="deploy.place", version=1)
def place(client: str, quantity: Literal[1, 2, 3], warehouse: str, note: str = "") -> str:
    return f"{client}:{quantity}:{warehouse}:{note}"


@gearman_job(name="deploy.stats")
def stats(values: list[int]) -> int | None:
    return sum(values) or None
