"""The Django project every peer's worker and client load: one trivial job per framework.

Which broker, database and servers a process uses comes from the environment (set by the
harness for each worker it starts), so one settings module serves every peer.
"""

from __future__ import annotations

import os

SETTINGS_MODULE = "bench.peers.project.settings"
REDIS_URL_VARIABLE = "BENCH_PEERS_REDIS_URL"  # redis://127.0.0.1:PORT/DB, one DB per peer
DATABASE_VARIABLE = "BENCH_PEERS_DATABASE"  # the SQLite file of django-tasks-db
POSTGRES_VARIABLE = "BENCH_PEERS_POSTGRES"  # JSON DATABASES entry of the private PostgreSQL
RESULTS_ALIAS_VARIABLE = "BENCH_PEERS_RESULTS_ALIAS"  # a worker's records: "default" or "results"
GEARMAN_JOB_NAME = "bench.peers.project.echo"  # the Gearman function of gearman_jobs.echo


def redis_url() -> str:
    """The broker of this process; a worker started without one is a harness bug."""
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        raise RuntimeError(f"{REDIS_URL_VARIABLE} is not set: the harness sets it per peer")
    return url


def setup_django() -> None:
    """Configure Django with the peers' settings, once per process. The harness's process is
    ours alone: an inherited DJANGO_SETTINGS_MODULE (a test run's) is replaced, not used."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
