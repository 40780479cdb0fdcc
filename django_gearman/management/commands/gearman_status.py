"""``manage.py gearman_status``: queued, running and available workers per function, per server."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_gearman.management.commands._options import add_servers_option, servers_or_error
from django_gearman.tables import render_table


class Command(BaseCommand):
    help = "Show, for every Gearman server, the queued and running jobs and workers per function."

    def add_arguments(self, parser: CommandParser) -> None:
        add_servers_option(parser)
        parser.add_argument(
            "--timeout", type=float, default=5.0, help="seconds to wait for each server (default 5)"
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="print JSON: every server with its functions (by priority) and workers",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_gearman.protocol import AdminClient, GearmanError

        servers = servers_or_error(options["servers"])
        if options["json"]:
            self._print_json(servers, options["timeout"])
            return
        rows: list[list[object]] = []
        unreachable: list[str] = []
        for server in servers:
            try:
                with AdminClient(server, timeout=options["timeout"]) as admin:
                    statuses = admin.status()
            except (GearmanError, OSError) as exc:
                unreachable.append(f"{server}: {exc}")
                continue
            rows += [
                [server, s.function, s.queued, s.running, s.available_workers]
                for s in sorted(statuses)
            ]
        headers = ["server", "function", "queued", "running", "workers"]
        self.stdout.write(render_table(headers, rows))
        for problem in unreachable:
            self.stderr.write(f"unreachable: {problem}")
        if unreachable and len(unreachable) == len(servers):
            raise CommandError("no Gearman server answered")

    def _print_json(self, servers: list[str], timeout: float) -> None:
        """The console's status snapshot as JSON; exits non-zero only if no server answered."""
        import json

        from django_gearman.console.status import take_snapshot

        snapshot = take_snapshot(servers, timeout)
        document = {
            "taken_at": snapshot.taken_at.isoformat(),
            "servers": [server.as_json() for server in snapshot.servers],
        }
        self.stdout.write(json.dumps(document, indent=2))
        if not snapshot.servers_up:
            raise CommandError("no Gearman server answered")
