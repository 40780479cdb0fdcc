"""Settings for running the example from the repository root (``python manage.py ...``).

``GEARMAN_SERVERS`` comes from the environment (comma-separated), so the demo can point the worker
and the client at a private gearmand.
"""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = ["django_gearman", "gearman_example"]
DATABASES: dict[str, dict[str, str]] = {}
GEARMAN_SERVERS = [
    server.strip()
    for server in os.environ.get("GEARMAN_SERVERS", "127.0.0.1:4730").split(",")
    if server.strip()
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"django_gearman": {"handlers": ["stderr"], "level": "INFO"}},
}
