"""Django settings for the test suite. Tests that talk to gearmand override GEARMAN_SERVERS.

Worker subprocesses started by the tests get their servers on the command line (--servers) and,
for the signing tests, their keys from TEST_GEARMAN_SIGNING_KEYS (JSON {key id: secret}) and a
name prefix from TEST_GEARMAN_JOB_NAME (so that only they serve those functions).
"""

import json
import os

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_gearman",
    "gearman_example",
    "tests.django.jobs_app",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
GEARMAN_SERVERS = ["127.0.0.1:4730"]
GEARMAN_SIGNING_KEYS = json.loads(os.environ.get("TEST_GEARMAN_SIGNING_KEYS", "{}"))
GEARMAN_JOB_NAME = os.environ.get("TEST_GEARMAN_JOB_NAME") or None
# Workers of the traceback test send tracebacks to their callers (off by default).
GEARMAN_SEND_TRACEBACKS = os.environ.get("TEST_GEARMAN_SEND_TRACEBACKS") == "1"
# Jobs this test process submits by name that other processes serve: the peers in other
# languages (interop, outside), the reliability tests' workers (their own INSTALLED_APPS).
GEARMAN_REMOTE_JOBS = ["interop.*", "outside.*", "rel.*"]
