"""The Django app: loads every installed app's ``gearman_jobs`` (and, with a Gearman
tasks backend, ``tasks``) module and registers the checks."""

from __future__ import annotations

from django.apps import AppConfig


class GearmanConfig(AppConfig):
    """``INSTALLED_APPS = [..., "django_gearman"]``."""

    name = "django_gearman"
    verbose_name = "Gearman"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .conf import connect_reset_signal
        from .discovery import autodiscover
        from .tasks.discovery import discover_tasks

        connect_reset_signal()
        autodiscover()
        discover_tasks()  # the django.tasks modules, only with a GearmanBackend in TASKS
