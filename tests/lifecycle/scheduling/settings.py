"""Settings of the processes of the scheduler tests (clients, workers, schedulers).

They share one database given as JSON in SCHEDULING_DATABASE (a ``DATABASES["default"]`` dict:
a SQLite file or the tests' PostgreSQL server), so that separate processes see the same records,
and one gearmand (SCHEDULING_GEARMAN). SCHEDULING_PERIODIC=1 adds the app of a periodic job.
"""

import json
import os

from tests.settings import DEBUG, SECRET_KEY, TIME_ZONE, USE_TZ

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_gearman",
    "tests.lifecycle.scheduling.scheduler_jobs",
]
if os.environ.get("SCHEDULING_PERIODIC"):
    INSTALLED_APPS.append("tests.lifecycle.scheduling.periodic_jobs")
DATABASES = {
    "default": json.loads(os.environ.get("SCHEDULING_DATABASE", "{}"))
    or {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
}
GEARMAN_SERVERS = os.environ.get("SCHEDULING_GEARMAN", "127.0.0.1:4730").split(",")
__all__ = [  # the settings taken from tests.settings are settings here too
    "DATABASES",
    "DEBUG",
    "GEARMAN_SERVERS",
    "INSTALLED_APPS",
    "SECRET_KEY",
    "TIME_ZONE",
    "USE_TZ",
]
