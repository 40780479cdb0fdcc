"""A one-app Django project for the benchmarks: the same code path a real project would take."""

from __future__ import annotations

import os

SETTINGS_MODULE = "bench.djangosite.settings"
ECHO_WIRE_NAME = "bench.djangosite.echo"  # the Gearman function of gearman_jobs.echo


def setup_django() -> None:
    """Configure Django with the bench settings, once per process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
