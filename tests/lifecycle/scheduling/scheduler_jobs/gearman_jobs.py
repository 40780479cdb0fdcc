"""Jobs of the scheduler tests. A run appends ``name tag unix-time`` to SCHEDULING_RUN_LOG, one
``write`` of one line to a file opened for appending, so lines of concurrent workers never mix."""

from __future__ import annotations

import os
import time

from django_gearman import gearman_job


def note_run(name: str, tag: str) -> None:
    path = os.environ.get("SCHEDULING_RUN_LOG")
    if path:
        with open(path, "a") as log:
            log.write(f"{name} {tag} {time.time():.6f}\n")


@gearman_job
def mark(tag: str) -> str:
    """A deferred job: records when it ran."""
    note_run("mark", tag)
    return tag
