"""The GEARMAN_* settings, read once, validated, and cached until a test overrides them.

Every setting has a default so that a project can start with only ``GEARMAN_SERVERS``. Reading is
strict: a malformed value raises ``ConfigurationError`` naming the setting, and the system checks
(``checks.py``) report the same problems at startup through :func:`setting_problems`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from serializers.envelope import MAX_BODY_BYTES, MAX_DECODED_BYTES

from .exceptions import ConfigurationError

DEFAULTS: dict[str, Any] = {
    "GEARMAN_SERVERS": [],
    "GEARMAN_JOB_NAME": None,
    "GEARMAN_DEFAULT_SERIALIZER": "json",
    "GEARMAN_SIGNING_KEYS": {},
    "GEARMAN_SIGNING_KEY_ID": None,
    "GEARMAN_REQUIRE_SIGNATURE": None,  # None: required exactly when signing keys are configured
    "GEARMAN_MAX_PAYLOAD_SIZE": MAX_BODY_BYTES,
    "GEARMAN_MAX_DECOMPRESSED_SIZE": MAX_DECODED_BYTES,
    "GEARMAN_COMPRESS_MIN_SIZE": None,  # None: never compress; an int: zlib bodies from that size
    "GEARMAN_EAGER": False,
    "GEARMAN_TIMEOUT": 30.0,  # seconds a foreground submit waits for its result
    "GEARMAN_CONNECT_TIMEOUT": 5.0,
    "GEARMAN_STORE_RESULTS": False,  # the default of @gearman_job(store_result=...)
}


def _identity(name: str) -> str:
    return name


@dataclass(frozen=True, slots=True)
class GearmanSettings:
    """The validated settings; ``wire_name`` maps a job's logical name to its Gearman function."""

    servers: tuple[str, ...]
    wire_name: Callable[[str], str]
    default_serializer: str
    signing_keys: Mapping[str, bytes] = field(repr=False)
    signing_key_id: str | None
    require_signature: bool
    max_payload_size: int
    max_decompressed_size: int
    compress_min_size: int | None
    eager: bool
    timeout: float
    connect_timeout: float
    store_results: bool = False
    problems: tuple[str, ...] = field(default=())


def _raw(name: str) -> Any:
    from django.conf import settings

    return getattr(settings, name, DEFAULTS[name])


def _servers(value: Any, problems: list[str]) -> tuple[str, ...]:
    from .protocol import parse_server

    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        problems.append(
            f"GEARMAN_SERVERS must be a string or a list of 'host:port' strings, not "
            f"{type(value).__name__}"
        )
        return ()
    servers: list[str] = []
    for item in items:
        try:
            servers.append(str(parse_server(item)))
        except ValueError as exc:
            problems.append(f"GEARMAN_SERVERS: {exc}")
    return tuple(servers)


def _wire_name(value: Any, problems: list[str]) -> Callable[[str], str]:
    if value is None:
        return _identity
    if callable(value):
        return value
    if isinstance(value, str):
        if "%(namespace)s" in value:
            problems.append(
                "GEARMAN_JOB_NAME uses %(namespace)s, the old adler32(cwd) prefix, which is gone: "
                "workers in other languages could never know it. Use a fixed prefix such as "
                "'myproject.{name}' instead"
            )
            return _identity
        template = value.replace("%(job_name)s", "{name}")
        if "{name}" not in template:
            problems.append("GEARMAN_JOB_NAME must contain '{name}' (or be a callable)")
            return _identity
        try:
            template.format(name="x")
        except (KeyError, IndexError, ValueError) as exc:
            problems.append(f"GEARMAN_JOB_NAME is not a valid format string: {exc!r}")
            return _identity
        return functools.partial(_format_name, template)
    problems.append(f"GEARMAN_JOB_NAME must be a callable or a format string, not {value!r}")
    return _identity


def _format_name(template: str, name: str) -> str:
    return template.format(name=name)


def _signing_keys(value: Any, problems: list[str]) -> dict[str, bytes]:
    if not isinstance(value, Mapping):
        problems.append("GEARMAN_SIGNING_KEYS must be a dict {key_id: secret}")
        return {}
    keys: dict[str, bytes] = {}
    for kid, secret in value.items():
        if not isinstance(kid, str) or not kid or not kid.isascii() or " " in kid or "=" in kid:
            problems.append(
                f"GEARMAN_SIGNING_KEYS: key id {kid!r} must be non-empty ASCII, no spaces"
            )
            continue
        raw = secret.encode() if isinstance(secret, str) else secret
        if not isinstance(raw, bytes) or len(raw) < 16:
            problems.append(
                f"GEARMAN_SIGNING_KEYS[{kid!r}]: the secret must be str or bytes, 16 bytes or more"
            )
            continue
        keys[kid] = raw
    return keys


def _number(name: str, whole: bool, problems: list[str], *, optional: bool = False) -> Any:
    value: Any = _raw(name)
    if optional and value is None:
        return None
    wrong_type = isinstance(value, bool) or not isinstance(value, int | float)
    if wrong_type or (whole and not isinstance(value, int)) or value <= 0:
        problems.append(f"{name} must be a positive number, not {value!r}")
        return DEFAULTS[name] if DEFAULTS[name] is not None else None
    return value


def read_settings() -> GearmanSettings:
    """Read every GEARMAN_* setting; problems are collected, not raised (see ``get_settings``)."""
    problems: list[str] = []
    servers = _servers(_raw("GEARMAN_SERVERS"), problems)
    keys = _signing_keys(_raw("GEARMAN_SIGNING_KEYS"), problems)
    key_id = _raw("GEARMAN_SIGNING_KEY_ID")
    if key_id is None and len(keys) == 1:
        key_id = next(iter(keys))
    if key_id is not None and key_id not in keys:
        problems.append(f"GEARMAN_SIGNING_KEY_ID {key_id!r} is not a key of GEARMAN_SIGNING_KEYS")
        key_id = None
    if key_id is None and len(keys) > 1:
        problems.append("GEARMAN_SIGNING_KEY_ID must name the current key when there are several")
    require = _raw("GEARMAN_REQUIRE_SIGNATURE")
    if require is None:
        require = bool(keys)
    elif require and not keys:
        problems.append("GEARMAN_REQUIRE_SIGNATURE is set but GEARMAN_SIGNING_KEYS is empty")
    serializer = _raw("GEARMAN_DEFAULT_SERIALIZER")
    if not isinstance(serializer, str) or not serializer:
        problems.append(f"GEARMAN_DEFAULT_SERIALIZER must be a serializer name, not {serializer!r}")
        serializer = "json"
    return GearmanSettings(
        servers=servers,
        wire_name=_wire_name(_raw("GEARMAN_JOB_NAME"), problems),
        default_serializer=serializer,
        signing_keys=keys,
        signing_key_id=key_id,
        require_signature=bool(require),
        max_payload_size=_number("GEARMAN_MAX_PAYLOAD_SIZE", True, problems),
        max_decompressed_size=_number("GEARMAN_MAX_DECOMPRESSED_SIZE", True, problems),
        compress_min_size=_number("GEARMAN_COMPRESS_MIN_SIZE", True, problems, optional=True),
        eager=bool(_raw("GEARMAN_EAGER")),
        timeout=float(_number("GEARMAN_TIMEOUT", False, problems)),
        connect_timeout=float(_number("GEARMAN_CONNECT_TIMEOUT", False, problems)),
        store_results=bool(_raw("GEARMAN_STORE_RESULTS")),
        problems=tuple(problems),
    )


@functools.cache
def get_settings() -> GearmanSettings:
    """The current settings, cached; raises ``ConfigurationError`` listing every problem."""
    current = read_settings()
    if current.problems:
        raise ConfigurationError("invalid Gearman settings: " + "; ".join(current.problems))
    return current


def _reset_on_change(*, setting: str, **kwargs: object) -> None:
    """Settings overridden in tests (``override_settings``) take effect at once."""
    if setting.startswith("GEARMAN_"):
        get_settings.cache_clear()
        for hook in _RESET_HOOKS:
            hook()


_RESET_HOOKS: list[Callable[[], None]] = []


def on_settings_reset(hook: Callable[[], None]) -> None:
    """Run ``hook`` when a GEARMAN_* setting changes (drop caches built from settings)."""
    _RESET_HOOKS.append(hook)


def connect_reset_signal() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(_reset_on_change, dispatch_uid="django_gearman.conf.reset")
