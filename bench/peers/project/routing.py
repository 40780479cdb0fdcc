"""Where django-gearman's records go: the SQLite file, or the private PostgreSQL server.

One process (the harness) drives both stored peers, so the database is chosen per operation:
``results_in("results")`` around a call of the PostgreSQL peer's client. A worker process gets
its database from the environment (``RESULTS_ALIAS_VARIABLE``, set by the harness per peer).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from bench.peers.project import RESULTS_ALIAS_VARIABLE

RESULTS_APP = "django_gearman"
POSTGRES_ALIAS = "results"  # the DATABASES entry of the private PostgreSQL server

_PROCESS_ALIAS = os.environ.get(RESULTS_ALIAS_VARIABLE, "default")  # this process's own store
_alias: ContextVar[str | None] = ContextVar("bench_peers_results_alias", default=None)


@contextlib.contextmanager
def results_in(alias: str) -> Iterator[None]:
    """Read and write django-gearman's records in ``alias`` for the duration of the block."""
    token = _alias.set(alias)
    try:
        yield
    finally:
        _alias.reset(token)


class ResultsRouter:
    """django-gearman's models go to the current results database; the rest to ``default``."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if model._meta.app_label != RESULTS_APP:
            return None
        return _alias.get() or _PROCESS_ALIAS

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return self.db_for_read(model, **hints)

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        """Every app in ``default``; only django-gearman's tables in the PostgreSQL store."""
        return db != POSTGRES_ALIAS or app_label == RESULTS_APP
