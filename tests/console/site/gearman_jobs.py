"""Jobs of the console test site: one that fails until its input file exists, one nobody serves."""

from __future__ import annotations

from pathlib import Path

from django_gearman import gearman_job


class InputMissing(FileNotFoundError):
    """Raised by ``import_file`` while its input is not there (an operator can fix and retry)."""


@gearman_job(store_result=True, queue="imports", sensitive=("password",))
def import_file(path: str, password: str = "") -> int:
    """Counts the lines of ``path``; fails while the file is missing."""
    source = Path(path)
    if not source.exists():
        raise InputMissing(f"{path} does not exist yet")
    return len(source.read_text().splitlines())


@gearman_job(store_result=True, queue="parked")
def parked(note: str) -> str:
    """Served by no worker in the tests, so its jobs stay queued until cancelled."""
    return note
