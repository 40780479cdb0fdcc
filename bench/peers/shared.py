"""The servers a whole peers run shares: a private Redis, a migrated SQLite file and, when a
peer stores its results there, a private PostgreSQL server."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.peers.project import DATABASE_VARIABLE, POSTGRES_VARIABLE, setup_django
from bench.peers.redis_server import private_redis
from bench.peers.sections import SharedServers

POSTGRES_DATABASE = "bench_peers"


@contextlib.contextmanager
def shared_servers(postgres: bool = False) -> Iterator[SharedServers]:
    """Redis on a free loopback port and ``peers.sqlite3`` with django-tasks-db's tables, in a
    temporary folder removed at the end; with ``postgres``, also a private PostgreSQL server
    (Debian's binaries, a free loopback port; stopped and removed at the end) with
    django-gearman's tables, the ``results`` database. Django is set up here, in this process,
    for the peers' clients."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-peers-") as folder,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(folder)
        database = workdir / "peers.sqlite3"
        os.environ[DATABASE_VARIABLE] = str(database)
        if postgres:
            os.environ[POSTGRES_VARIABLE] = json.dumps(stack.enter_context(_postgres()))
        setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        if postgres:
            call_command("migrate", database="results", verbosity=0, interactive=False)
        with private_redis(workdir) as redis:
            yield SharedServers(redis.port, str(database))


@contextlib.contextmanager
def _postgres() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL server (the tests' one) and its ``DATABASES`` entry."""
    from tests.support.postgres import running_postgres

    with running_postgres() as server:
        server.create_database(POSTGRES_DATABASE)
        try:
            yield server.database_settings(POSTGRES_DATABASE)
        finally:
            os.environ.pop(POSTGRES_VARIABLE, None)
            from django.db import connections

            connections.close_all()  # before the server stops under them
