"""Importing the modules that define tasks, so every process knows them by name.

A Gearman worker must register a task's function before it can receive it, so the tasks must be
imported at startup, not on first use. When ``TASKS`` has a ``GearmanBackend`` alias, the
``tasks`` module of every installed app is imported (as ``gearman_jobs`` modules are; a missing
module is fine, an error inside one is raised), plus the modules in ``OPTIONS["MODULES"]``.
``OPTIONS["AUTODISCOVER"] = False`` leaves only the listed modules.
"""

from __future__ import annotations

import importlib
from typing import Any

TASKS_MODULE = "tasks"
BACKEND_CLASS = "GearmanBackend"


def _gearman_aliases(tasks_setting: Any) -> list[str]:
    from django.utils.module_loading import import_string

    from .backend import GearmanBackend

    aliases = []
    for alias, params in tasks_setting.items():
        path = params.get("BACKEND", "") if isinstance(params, dict) else ""
        if not isinstance(path, str) or not path.endswith(BACKEND_CLASS):
            continue
        backend_class = import_string(path)
        if isinstance(backend_class, type) and issubclass(backend_class, GearmanBackend):
            aliases.append(alias)
    return aliases


def discover_tasks() -> list[str]:
    """Import the task modules of every Gearman backend; returns the modules imported."""
    from django.conf import settings

    tasks_setting = getattr(settings, "TASKS", None)
    if not isinstance(tasks_setting, dict) or not any(
        isinstance(p, dict) and str(p.get("BACKEND", "")).endswith(BACKEND_CLASS)
        for p in tasks_setting.values()
    ):
        return []  # no Gearman backend: django.tasks is not even imported
    from django_gearman.discovery import autodiscover

    from .compat import task_backends

    imported: list[str] = []
    discovered = False
    for alias in _gearman_aliases(tasks_setting):
        options = task_backends[alias].gearman_options  # type: ignore[attr-defined]
        if options.autodiscover and not discovered:
            imported += autodiscover(TASKS_MODULE)
            discovered = True
        for module in options.modules:
            importlib.import_module(module)
            imported.append(module)
    return list(dict.fromkeys(imported))
