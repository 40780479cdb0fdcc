"""``manage.py gearman_decode``: read one envelope, verify its signature, print header and value.

For people debugging payloads: the input is a file, stdin (``-``), ``--hex``, or a stored job
record (``--record ID --part call|result``). Signatures are checked with GEARMAN_SIGNING_KEYS
against the job's Gearman function (``--job``; without it, every registered job is tried).
Sensitive parameters stay hidden unless ``--show-sensitive``.
"""

from __future__ import annotations

import binascii
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

MAX_INPUT = 64 * 1024 * 1024  # bytes read from a file or stdin, at most


class Command(BaseCommand):
    help = "Decode a django-gearman envelope (file, stdin, hex or a stored record) and verify it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", nargs="?", help="a file holding the envelope, or - for stdin")
        parser.add_argument("--hex", help="the envelope as hexadecimal text")
        parser.add_argument("--record", help="the id of a stored job record")
        parser.add_argument(
            "--part", choices=("call", "result"), default="call", help="with --record (call)"
        )
        parser.add_argument("--job", help="the job's name (binds the signature; finds sensitive)")
        parser.add_argument(
            "--show-sensitive", action="store_true", help="print sensitive arguments too"
        )
        parser.add_argument(
            "--max-chars", type=int, default=64 * 1024, help="cut the printed value (64 KiB)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_gearman.console.envelopes import decode_envelope

        blob, job_name, is_call = self._input(options)
        decoded = decode_envelope(
            blob, job_name=job_name, is_call=is_call, reveal=options["show_sensitive"]
        )
        header = decoded.header
        if header is not None:
            self._field("content type", header.content_type)
            self._field("encoding", header.content_encoding or "-")
            self._field("schema", header.schema or "-")
            self._field("accept", ",".join(header.accept) or "-")
            for key, value in sorted(decoded.extra_fields.items()):
                self._field(key, value)
            self._field("key id", header.key_id or "-")
        if not decoded.ok:
            raise CommandError(decoded.problem)
        if decoded.signed:
            self._field("signature", f"valid (function {decoded.verified_for})")
        else:
            self._field("signature", "none (unsigned)")
        if decoded.hidden:
            self._field("hidden", ", ".join(decoded.hidden) + " (--show-sensitive prints them)")
        error = decoded.error
        if error is not None:
            self._field("error type", error.get("type", ""))
            self._field("error message", error.get("message", ""))
            self.stdout.write("traceback:\n" + error.get("traceback", ""))
            return
        self.stdout.write("value:")
        self.stdout.write(decoded.pretty(max(options["max_chars"], 1)))

    def _field(self, name: str, value: str) -> None:
        self.stdout.write(f"{name + ':':<14} {value}")

    def _input(self, options: dict[str, Any]) -> tuple[bytes, str | None, bool | None]:
        """(envelope bytes, job name, whether it is a call: None = judge by its shape)."""
        given = [name for name in ("source", "hex", "record") if options[name]]
        if len(given) != 1:
            raise CommandError("give exactly one of: a file (or - for stdin), --hex, --record")
        job_name: str | None = options["job"]
        if options["record"]:
            return self._record(options["record"], options["part"], job_name)
        if options["hex"]:
            text = "".join(options["hex"].split())
            try:
                return binascii.unhexlify(text), job_name, None
            except (binascii.Error, ValueError) as exc:
                raise CommandError(f"--hex is not hexadecimal text: {exc}") from exc
        source = options["source"]
        if source == "-":
            data = sys.stdin.buffer.read(MAX_INPUT + 1)
        else:
            try:
                with Path(source).open("rb") as handle:
                    data = handle.read(MAX_INPUT + 1)
            except OSError as exc:
                raise CommandError(f"cannot read {source}: {exc.strerror or exc}") from exc
        if len(data) > MAX_INPUT:
            raise CommandError(f"the input is larger than {MAX_INPUT} bytes")
        return data, job_name, None

    def _record(self, record_id: str, part: str, job_name: str | None) -> tuple[bytes, str, bool]:
        from django.core.exceptions import ValidationError

        from django_gearman.models import JobRecord

        try:
            record = JobRecord.objects.get(pk=record_id)
        except (JobRecord.DoesNotExist, ValidationError, ValueError) as exc:
            raise CommandError(f"no job record {record_id!r}") from exc
        blob = record.call if part == "call" else record.result
        if not blob:
            raise CommandError(f"job record {record_id} has no {part} envelope")
        return bytes(blob), job_name or record.job_name, part == "call"
