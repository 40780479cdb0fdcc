"""The ``OPTIONS`` of a ``GearmanBackend`` alias, validated once when the backend is made.

``SERVERS``: "host:port" or a list (default ``GEARMAN_SERVERS``); the client side only, a worker
serving these tasks is pointed at the same servers (``gearman_worker --servers``).
``STORE_RESULTS`` (default True): keep a ``JobRecord`` per task, needed for ``get_result`` and
``run_after``. ``SERIALIZER`` (default ``json``): ``json`` or ``msgpack``, how calls are written
(both carry django.tasks' JSON values). ``MODULES``: extra modules that define tasks, imported by
every process at startup as the ``tasks`` modules of installed apps are; ``AUTODISCOVER`` (default
True) turns that import of ``<app>.tasks`` off. Signing and size limits are the project's
``GEARMAN_*`` settings, as for every job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SERIALIZERS = ("json", "msgpack")
KNOWN = frozenset({"SERVERS", "STORE_RESULTS", "SERIALIZER", "MODULES", "AUTODISCOVER"})


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """Validated OPTIONS; ``servers`` None means ``GEARMAN_SERVERS``."""

    servers: tuple[str, ...] | None = None
    store_results: bool = True
    serializer: str = "json"
    modules: tuple[str, ...] = ()
    autodiscover: bool = True


def _strings(value: Any, name: str, problems: list[str]) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
        problems.append(f"OPTIONS[{name!r}] must be a string or a list of strings, not {value!r}")
        return ()
    return tuple(items)


def _flag(options: Mapping[str, Any], name: str, problems: list[str]) -> bool:
    value = options.get(name, True)
    if not isinstance(value, bool):
        problems.append(f"OPTIONS[{name!r}] must be True or False, not {value!r}")
        return True
    return value


def parse_options(options: Any) -> tuple[BackendOptions, list[str]]:
    """The options and every problem found (unknown keys included: a typo must not pass)."""
    problems: list[str] = []
    if not isinstance(options, Mapping):
        return BackendOptions(), [f"OPTIONS must be a dict, not {type(options).__name__}"]
    unknown = sorted(str(key) for key in set(options) - KNOWN)
    if unknown:
        problems.append(f"unknown OPTIONS {unknown} (known: {sorted(KNOWN)})")
    servers = None
    if "SERVERS" in options:
        from django_gearman.protocol import parse_server

        servers = _strings(options["SERVERS"], "SERVERS", problems)
        for server in servers:
            try:
                parse_server(server)
            except ValueError as exc:
                problems.append(f"OPTIONS['SERVERS']: {exc}")
    serializer = options.get("SERIALIZER", "json")
    if serializer not in SERIALIZERS:
        problems.append(f"OPTIONS['SERIALIZER'] must be one of {SERIALIZERS}, not {serializer!r}")
        serializer = "json"
    parsed = BackendOptions(
        servers=servers,
        store_results=_flag(options, "STORE_RESULTS", problems),
        serializer=serializer,
        modules=_strings(options.get("MODULES", ()), "MODULES", problems),
        autodiscover=_flag(options, "AUTODISCOVER", problems),
    )
    return parsed, problems
