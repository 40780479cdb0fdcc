"""Settings of the worker (and lookup) subprocesses of the job-store tests.

The database is the test's, given as JSON in STORE_TEST_DATABASE (a ``DATABASES["default"]``
dict: a SQLite file or the throwaway PostgreSQL server), so every process sees the same records.
STORE_TEST_SIGNALS names a file the worker's signal receivers append to.
"""

import json
import os

from tests.settings import DEBUG, SECRET_KEY, TIME_ZONE, USE_TZ

__all__ = ["DEBUG", "SECRET_KEY", "TIME_ZONE", "USE_TZ"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_gearman",
    "tests.lifecycle.store_jobs",
]
DATABASES = {
    "default": json.loads(os.environ.get("STORE_TEST_DATABASE", "{}"))
    or {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
}
GEARMAN_SERVERS = os.environ.get("STORE_TEST_GEARMAN", "127.0.0.1:4730").split(
    ","
)  # workers: --servers
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
