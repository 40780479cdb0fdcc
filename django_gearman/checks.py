"""Django system checks: problems in GEARMAN_* settings and job declarations, found at startup.

``check_settings`` and ``check_jobs`` are plain functions returning ``CheckMessage`` lists so that
tests can call them directly; the registered ``gearman_check`` runs both, under the tag ``TAG``.
The worker commands run only the checks of that tag (see ``worker_checks``).

``AppConfig.ready`` imports this module in every Django process (web, ``migrate``, ``shell``), so
it imports the call codec (``calls``, which builds pydantic schemas) only inside the check that
needs it: a process that never runs the checks never pays for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from django.core import checks

from .conf import GearmanSettings, read_settings
from .declaration import GearmanJob, JobRegistry, registry

TAG = "gearman"


def check_settings(current: GearmanSettings | None = None) -> list[checks.CheckMessage]:
    """Malformed settings (E001), no server (E002), unknown default serializer (E004)."""
    current = current or read_settings()
    messages: list[checks.CheckMessage] = [
        checks.Error(problem, id="django_gearman.E001") for problem in current.problems
    ]
    if (
        not current.servers
        and not current.eager
        and not any(problem.startswith("GEARMAN_SERVERS") for problem in current.problems)
    ):
        messages.append(
            checks.Error(
                "GEARMAN_SERVERS lists no Gearman server",
                hint="Set GEARMAN_SERVERS = ['127.0.0.1:4730'] (or GEARMAN_EAGER = True in tests).",
                id="django_gearman.E002",
            )
        )
    messages += _serializer_errors("GEARMAN_DEFAULT_SERIALIZER", [current.default_serializer])
    return messages


def _serializer_errors(where: str, names: Iterable[str]) -> list[checks.CheckMessage]:
    from serializers import UnknownSerializer, get_serializer

    messages: list[checks.CheckMessage] = []
    for name in names:
        try:
            get_serializer(name)
        except UnknownSerializer as exc:
            messages.append(checks.Error(f"{where}: {exc}", id="django_gearman.E004"))
    return messages


def _is_unsafe(name: str) -> bool:
    from serializers import UnknownSerializer, get_serializer

    try:
        return not get_serializer(name).safe
    except UnknownSerializer:
        return False


def _job_serializers(job: GearmanJob[Any, Any], default: str) -> list[str]:
    names = [job.serializer or default, *job.accept]
    if job.result_serializer:
        names.append(job.result_serializer)
    if job.unenveloped:
        names.append(job.unenveloped)
    return names


def check_jobs(
    jobs: JobRegistry | None = None, current: GearmanSettings | None = None
) -> list[checks.CheckMessage]:
    """Unknown serializers (E004), pickle without signing (E003), signatures that cannot be
    typed (E006). (Two functions under one name never get here: registering the second raises
    ``DuplicateJobName``, which is what check E005 used to report.)"""
    jobs = jobs if jobs is not None else registry
    current = current or read_settings()
    messages: list[checks.CheckMessage] = []
    for job in jobs:
        names = _job_serializers(job, current.default_serializer)
        messages += _serializer_errors(f"job {job.name!r}", names)
        if any(_is_unsafe(name) for name in names) and not current.signing_keys:
            messages.append(
                checks.Error(
                    f"job {job.name!r} uses an unsafe serializer (pickle) but GEARMAN_SIGNING_KEYS "
                    f"is empty: anyone who can reach gearmand could run code on your workers",
                    hint="Configure GEARMAN_SIGNING_KEYS, or use json/msgpack.",
                    obj=job.func,
                    id="django_gearman.E003",
                )
            )
        messages += _schema_errors(job)
        if job.unenveloped and current.require_signature:
            messages.append(
                checks.Warning(
                    f"job {job.name!r} accepts unenveloped payloads, but signatures are required: "
                    f"bare payloads cannot be signed, so every one will be refused",
                    hint="Drop unenveloped=, or set GEARMAN_REQUIRE_SIGNATURE = False.",
                    obj=job.func,
                    id="django_gearman.W002",
                )
            )
        if job.worker_timeout is not None:
            messages.append(
                checks.Warning(
                    f"job {job.name!r} sets worker_timeout={job.worker_timeout} (CAN_DO_TIMEOUT): "
                    f"gearmand 1.1.20 then fails every run longer than about one second, whatever "
                    f"the value, and re-queues it without telling the client",
                    hint="Measured against gearmand 1.1.20; leave worker_timeout unset unless your "
                    "gearmand honours it. Bound the wait on the client with using(timeout=...).",
                    obj=job.func,
                    id="django_gearman.W001",
                )
            )
    return messages


def _schema_errors(job: GearmanJob[Any, Any]) -> list[checks.CheckMessage]:
    from .calls import schema_for  # here, not at the top: see the module docstring

    try:
        schema_for(job.func)
    except Exception as exc:
        return [
            checks.Error(
                f"job {job.name!r}: its signature cannot be validated: {exc}",
                obj=job.func,
                id="django_gearman.E006",
            )
        ]
    return []


@checks.register(TAG)
def gearman_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Entry point for ``manage.py check``."""
    current = read_settings()
    return check_settings(current) + check_jobs(registry, current)


def task_backends_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The checks of every ``GearmanBackend`` in ``TASKS`` (``GearmanBackend.check``).

    Django (and the django-tasks backport) run the task backends' checks in one untagged check,
    so a run restricted to ``TAG`` would skip them; ``worker_checks`` adds this one for its run.
    """
    from django.conf import settings

    if not getattr(settings, "TASKS", None):
        return []
    from .tasks.backend import GearmanBackend
    from .tasks.compat import task_backends

    return [
        message
        for backend in task_backends.all()
        if isinstance(backend, GearmanBackend)
        for message in backend.check()
    ]


@contextlib.contextmanager
def worker_checks() -> Iterator[None]:
    """While open, a check run restricted to ``TAG`` also runs ``task_backends_check``.

    For the worker commands, which run only ``TAG`` (model and URL checks would import every
    model, view and URLconf of the project for a process that serves none). The check is not
    registered for good: in a full run (``manage.py check``) Django's own task check already
    reports the same problems, and they would be listed twice.
    """
    checks.register(task_backends_check, TAG)
    try:
        yield
    finally:
        checks.registry.registry.registered_checks.discard(task_backends_check)
