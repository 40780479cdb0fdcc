"""The Gearman function name of a task: its module path and its queue.

A task ``send_mail`` in ``shop/tasks.py`` enqueued on queue ``emails`` is the job
``shop.tasks.send_mail@emails``; ``GEARMAN_JOB_NAME`` then maps that job name to the Gearman
function as for every ``@gearman_job`` (``"prod.{name}"`` gives
``prod.shop.tasks.send_mail@emails``).
The queue is part of the name because Gearman routes by function only: a worker started with
``gearman_worker -q emails`` registers the ``@emails`` functions, so it alone receives those tasks.
A worker in another language registers the same string.
"""

from __future__ import annotations

import re

QUEUE_SEPARATOR = "@"
_QUEUE_NAME = re.compile(r"^[!-~]+$")  # printable ASCII, no spaces (part of a job name)


def function_name(module_path: str, queue_name: str) -> str:
    """The job name of a task (``module.path.func@queue``), before ``GEARMAN_JOB_NAME``."""
    return f"{module_path}{QUEUE_SEPARATOR}{queue_name}"


def split_function_name(name: str) -> tuple[str, str]:
    """``module.path.func@queue`` -> (module path, queue); ``ValueError`` if it is not one."""
    module_path, separator, queue_name = name.rpartition(QUEUE_SEPARATOR)
    if not separator or not module_path or not queue_name:
        raise ValueError(f"{name!r} is not a task job name (module.path@queue)")
    return module_path, queue_name


def queue_name_problem(queue_name: object) -> str | None:
    """Why ``queue_name`` cannot be part of a Gearman function name (None if it can)."""
    if not isinstance(queue_name, str) or not _QUEUE_NAME.match(queue_name):
        return f"queue name {queue_name!r} must be non-empty printable ASCII without spaces"
    if QUEUE_SEPARATOR in queue_name:
        return f"queue name {queue_name!r} must not contain {QUEUE_SEPARATOR!r}"
    return None
