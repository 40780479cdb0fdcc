"""Settings for the benchmark's Django side: no database, no signing, JSON payloads.

The workers get their server with ``--servers``; the client is given it directly. The
stored-result section (``bench/stored.py``) gives its workers a database as JSON in
BENCH_DATABASE.
"""

import json
import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django_gearman", "bench.djangosite"]
DATABASES: dict[str, dict[str, str]] = (
    {"default": json.loads(os.environ["BENCH_DATABASE"])} if "BENCH_DATABASE" in os.environ else {}
)
GEARMAN_SERVERS = ["127.0.0.1:4730"]
GEARMAN_DEFAULT_SERIALIZER = "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django_gearman": {"level": "WARNING"}},
}
