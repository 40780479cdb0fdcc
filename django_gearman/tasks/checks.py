"""``GearmanBackend.check()``: what would keep its tasks from running, at ``manage.py check``.

Errors: no Gearman server (nor eager mode); no queue listed (each queue is a function a worker
registers); a queue name that cannot be part of a function name; a result store that cannot work
(``django_gearman`` not installed). Warnings: its migrations not applied (an error would stop
``manage.py migrate`` itself, which runs the checks), or the database cannot be read to tell.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.core import checks

from django_gearman.conf import GearmanSettings

from .naming import queue_name_problem
from .options import BackendOptions

APP_LABEL = "django_gearman"


def _error(alias: str, code: int, message: str, hint: str | None = None) -> checks.Error:
    return checks.Error(
        f"TASKS[{alias!r}]: {message}", hint=hint, id=f"django_gearman.tasks.E{code:03d}"
    )


def backend_problems(
    alias: str, queues: Iterable[str], options: BackendOptions, current: GearmanSettings
) -> Iterator[checks.CheckMessage]:
    if not (options.servers or current.servers or current.eager):
        yield _error(
            alias,
            1,
            "no Gearman server to send tasks to",
            "set GEARMAN_SERVERS, or OPTIONS['SERVERS'] of this backend",
        )
    names = sorted(queues)
    if not names:
        yield _error(
            alias,
            2,
            "QUEUES is empty: a Gearman worker registers one function per task and queue, so the "
            "queues must be listed",
            'QUEUES = ["default", ...]',
        )
    for name in names:
        problem = queue_name_problem(name)
        if problem is not None:
            yield _error(alias, 3, problem)
    if options.store_results:
        yield from _store_problems(alias)


def _store_problems(alias: str) -> Iterator[checks.CheckMessage]:
    from django.apps import apps

    if not apps.is_installed(APP_LABEL):
        yield _error(
            alias,
            4,
            "the result store needs the django_gearman app",
            "add 'django_gearman' to INSTALLED_APPS, or set OPTIONS['STORE_RESULTS'] = False",
        )
        return
    try:
        pending = _unapplied_migrations()
    except Exception as exc:  # no database yet, access refused, ...: say so, do not guess
        yield checks.Warning(
            f"TASKS[{alias!r}]: cannot tell whether the result store is migrated ({exc})",
            id="django_gearman.tasks.W001",
        )
        return
    if pending:  # a warning: an error would stop ``manage.py migrate`` itself
        yield checks.Warning(
            f"TASKS[{alias!r}]: the result store is not migrated "
            f"({', '.join(pending)} not applied); enqueue will fail",
            hint="run: python manage.py migrate django_gearman",
            id="django_gearman.tasks.W002",
        )


def _unapplied_migrations() -> list[str]:
    from django.db import connections, router
    from django.db.migrations.executor import MigrationExecutor

    from django_gearman.models import JobRecord

    connection = connections[router.db_for_write(JobRecord)]
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes(APP_LABEL)
    return [migration.name for migration, _ in executor.migration_plan(targets)]
