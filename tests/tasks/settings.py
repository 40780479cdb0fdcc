"""Settings of the task tests' processes (worker, client driver, manage.py check).

Every process of one test module shares the SQLite file ``$TEST_TASKS_DB`` (the result store)
and the gearmand at ``$TEST_GEARMAN_SERVER`` (empty: none). ``$TEST_TASKS_SETTING`` (JSON)
replaces ``TASKS`` for the configuration tests; ``$TEST_GEARMAN_EAGER=1`` turns on eager mode.
"""

import json
import os

import django

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    *([] if django.VERSION >= (6, 0) else ["django_tasks"]),
    "django_gearman",
    "tests.tasks.tasks_app",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TEST_TASKS_DB", ":memory:"),
        "OPTIONS": {"timeout": 20},  # type: ignore[dict-item]
    }
}
GEARMAN_SERVERS = [os.environ.get("TEST_GEARMAN_SERVER", "127.0.0.1:4730")]
GEARMAN_EAGER = os.environ.get("TEST_GEARMAN_EAGER") == "1"
GEARMAN_SERVERS = [server for server in GEARMAN_SERVERS if server]
TASKS = json.loads(os.environ.get("TEST_TASKS_SETTING", "null")) or {
    "default": {
        "BACKEND": "django_gearman.tasks.GearmanBackend",
        "QUEUES": ["default", "emails"],
        "OPTIONS": {},
    },
}
