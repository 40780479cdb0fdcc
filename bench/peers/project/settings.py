"""Settings of the peers' Django project: django-gearman and django-tasks-db side by side.

The SQLite file is named by the environment (``BENCH_PEERS_DATABASE``); WAL mode lets the
client read results while ``db_worker`` writes (it favours django-tasks-db, and says so in the
run's configuration table). Connections are persistent (``CONN_MAX_AGE = None``) for every
peer: a worker opens its connection once, not once per job. When the harness started its
private PostgreSQL server (``BENCH_PEERS_POSTGRES``), it is the ``results`` database, and
``routing.ResultsRouter`` sends django-gearman's records there for the PostgreSQL peer.
Gearman servers come from ``--servers`` (workers) or are given to the client directly.
"""

import json
import os

SECRET_KEY = "bench-peers-only-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django_gearman",
    "django_tasks",
    "django_tasks_db",
    "bench.peers.project",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_PEERS_DATABASE", ":memory:"),
        "OPTIONS": {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL"},
        "CONN_MAX_AGE": None,  # every worker (db_worker, gearman_worker) keeps its connection
    }
}
if os.environ.get("BENCH_PEERS_POSTGRES"):
    DATABASES["results"] = {**json.loads(os.environ["BENCH_PEERS_POSTGRES"]), "CONN_MAX_AGE": None}
DATABASE_ROUTERS = ["bench.peers.project.routing.ResultsRouter"]
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "gearman": {  # our django.tasks backend; its results go to the same SQLite file
        "BACKEND": "django_gearman.tasks.GearmanBackend",
        "OPTIONS": {"MODULES": ["bench.peers.project.gearman_tasks"]},
    },
}
GEARMAN_SERVERS = ["127.0.0.1:4730"]  # always overridden: --servers, or the client's list
GEARMAN_DEFAULT_SERIALIZER = "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        "django_gearman": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
    },
}
