"""Settings for the benchmark's Django side: no database, no signing, JSON payloads.

The workers get their server with ``--servers``; the client is given it directly.
"""

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django_gearman", "bench.djangosite"]
DATABASES: dict[str, dict[str, str]] = {}
GEARMAN_SERVERS = ["127.0.0.1:4730"]
GEARMAN_DEFAULT_SERIALIZER = "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django_gearman": {"level": "WARNING"}},
}
