"""The servers a whole peers run shares: a private Redis and a migrated SQLite file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.peers.project import DATABASE_VARIABLE, setup_django
from bench.peers.redis_server import private_redis
from bench.peers.sections import SharedServers


@contextlib.contextmanager
def shared_servers() -> Iterator[SharedServers]:
    """Redis on a free loopback port and ``peers.sqlite3`` with django-tasks-db's tables, in a
    temporary folder removed at the end. Django is set up here, in this process, for the
    clients of django-gearman and django-tasks-db."""
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as folder:
        workdir = Path(folder)
        database = workdir / "peers.sqlite3"
        os.environ[DATABASE_VARIABLE] = str(database)
        setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        with private_redis(workdir) as redis:
            yield SharedServers(redis.port, str(database))
