"""One import surface for ``django.tasks`` (Django 6.0+) and the ``django_tasks`` backport.

The two are separate frameworks with separate backend registries: a project on Django 6 uses
``django.tasks``; a project on Django 5.2 uses the backport (``pip install
"django-gearman[tasks]"``). The choice is made once, at import, by the Django version. The
backport names two exceptions differently (``InvalidTaskError``); they are exported here under
Django 6's names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import django

USES_DJANGO_TASKS = django.VERSION >= (6, 0)

if TYPE_CHECKING:  # mypy reads the backport's annotations (django.tasks ships none)
    from django_tasks import (
        DEFAULT_TASK_QUEUE_NAME,
        TaskContext,
        TaskResult,
        TaskResultStatus,
        task_backends,
    )
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.exceptions import InvalidTaskBackendError as InvalidTaskBackend
    from django_tasks.exceptions import InvalidTaskError as InvalidTask
    from django_tasks.exceptions import TaskResultDoesNotExist
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks.utils import normalize_json
elif USES_DJANGO_TASKS:
    from django.tasks import (
        DEFAULT_TASK_QUEUE_NAME,
        Task,
        TaskContext,
        TaskResult,
        TaskResultStatus,
        task_backends,
    )
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import TaskError
    from django.tasks.exceptions import InvalidTask, InvalidTaskBackend, TaskResultDoesNotExist
    from django.tasks.signals import task_enqueued, task_finished, task_started
    from django.utils.json import normalize_json
else:
    try:
        from django_tasks import (
            DEFAULT_TASK_QUEUE_NAME,
            TaskContext,
            TaskResult,
            TaskResultStatus,
            task_backends,
        )
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "django_gearman.tasks on Django < 6 needs the django-tasks backport: "
            'pip install "django-gearman[tasks]"'
        ) from exc
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.exceptions import InvalidTaskBackendError as InvalidTaskBackend
    from django_tasks.exceptions import InvalidTaskError as InvalidTask
    from django_tasks.exceptions import TaskResultDoesNotExist
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks.utils import normalize_json

FRAMEWORK = "django.tasks" if USES_DJANGO_TASKS else "django_tasks"


def set_field(instance: Any, name: str, value: Any) -> None:
    """Set a field of a frozen ``TaskResult`` (what Django's own backends do to report progress)."""
    object.__setattr__(instance, name, value)


__all__ = [
    "DEFAULT_TASK_QUEUE_NAME",
    "FRAMEWORK",
    "USES_DJANGO_TASKS",
    "BaseTaskBackend",
    "InvalidTask",
    "InvalidTaskBackend",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "normalize_json",
    "set_field",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]
