"""A ``django.tasks`` backend (DEP 14) that runs tasks on Gearman workers.

``TASKS = {"default": {"BACKEND": "django_gearman.tasks.GearmanBackend", ...}}``. The package is
imported by Django's app loading (``discovery``) even in projects without tasks, so names are
loaded lazily: only a project that configures the backend imports ``django.tasks`` (Django 6) or
the ``django_tasks`` backport (Django 5.2).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import GearmanBackend
    from .naming import function_name
    from .priority import gearman_priority
    from .waiting import TaskWaitTimeout, wait

_PUBLIC = {
    "GearmanBackend": ".backend",
    "function_name": ".naming",
    "gearman_priority": ".priority",
    "wait": ".waiting",
    "TaskWaitTimeout": ".waiting",
}

__all__ = ["GearmanBackend", "TaskWaitTimeout", "function_name", "gearman_priority", "wait"]


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use."""
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module 'django_gearman.tasks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value
