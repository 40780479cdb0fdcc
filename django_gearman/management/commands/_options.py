"""Options and settings handling shared by the gearman_* commands (not a command itself)."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from django_gearman.conf import GearmanSettings, get_settings
from django_gearman.exceptions import ConfigurationError


def add_queue_option(parser: CommandParser, help_text: str) -> None:
    parser.add_argument("-q", "--queue", action="append", default=[], dest="queues", help=help_text)


def add_servers_option(parser: CommandParser) -> None:
    parser.add_argument(
        "--servers", default=None, help="comma-separated host:port list (default: GEARMAN_SERVERS)"
    )


def settings_or_error() -> GearmanSettings:
    """The settings, or a CommandError that lists what is wrong (no traceback for users)."""
    try:
        return get_settings()
    except ConfigurationError as exc:
        raise CommandError(str(exc)) from exc


def servers_or_error(option: str | None) -> list[str]:
    """``--servers`` if given, else GEARMAN_SERVERS; none at all is a CommandError."""
    servers = option.split(",") if option else list(settings_or_error().servers)
    if not servers:
        raise CommandError("no Gearman server: set GEARMAN_SERVERS or pass --servers")
    return servers
