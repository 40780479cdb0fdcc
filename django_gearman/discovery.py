"""Import the ``gearman_jobs`` module of every installed app, so their jobs register.

A missing module is fine (most apps have no jobs). An ImportError raised *inside* an existing
module is a bug in that module and is re-raised: swallowing it would silently drop jobs.
"""

from __future__ import annotations

import importlib
import importlib.util

JOBS_MODULE = "gearman_jobs"


def autodiscover(module_name: str = JOBS_MODULE) -> list[str]:
    """Import ``<app>.<module_name>`` for each installed app; returns the modules imported."""
    from django.apps import apps

    imported: list[str] = []
    for app_config in apps.get_app_configs():
        full_name = f"{app_config.name}.{module_name}"
        try:
            found = importlib.util.find_spec(full_name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            importlib.import_module(full_name)  # errors inside the module propagate
            imported.append(full_name)
    return imported
