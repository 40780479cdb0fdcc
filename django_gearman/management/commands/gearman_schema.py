"""``manage.py gearman_schema``: export every job's JSON Schemas, or check them against a snapshot.

    gearman_schema [JOB ...]                 # the bundle (JSON) on stdout
    gearman_schema -o contracts.json         # ... into a file: the snapshot to commit
    gearman_schema --output-dir schemas/     # one NAME@VERSION.call.json / .result.json per job
    gearman_schema --check contracts.json    # exit 1 on an unversioned breaking change

Exit codes of ``--check``: 0 no change or only compatible (or versioned) ones, 1 a breaking change
without a version bump, 2 an unreadable snapshot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_gearman.management.commands._options import settings_or_error

MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024  # far above any project's jobs; bounds what is read


class Command(BaseCommand):
    help = (
        "Write the JSON Schema (2020-12) of each job's call and result, or compare them with a "
        "saved snapshot (--check) and fail on breaking changes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("jobs", nargs="*", metavar="JOB", help="job names (default: all)")
        parser.add_argument("-o", "--output", help="write the bundle to this file")
        parser.add_argument("--output-dir", help="write one call and one result schema per job")
        parser.add_argument("--check", metavar="SNAPSHOT", help="compare with a saved bundle")

    def handle(self, *args: Any, **options: Any) -> None:
        from django_gearman.schemas.export import bundle, job_contract
        from serializers import SchemaError

        settings_or_error()
        jobs = self._jobs(options["jobs"])
        try:
            contracts = [job_contract(job) for job in jobs]
        except SchemaError as exc:
            raise CommandError(str(exc)) from exc
        current = bundle(contracts)
        if options["check"]:
            self._check(Path(options["check"]), current, set(options["jobs"]))
            return
        text = json.dumps(current, indent=2, ensure_ascii=True) + "\n"
        if options["output_dir"]:
            folder = Path(options["output_dir"])
            folder.mkdir(parents=True, exist_ok=True)
            for contract in contracts:
                for part, document in (
                    ("call", contract.call_schema()),
                    ("result", contract.result_schema()),
                ):
                    path = folder / f"{contract.schema_field}.{part}.json"
                    path.write_text(json.dumps(document, indent=2) + "\n")
        if options["output"]:
            Path(options["output"]).write_text(text)
        elif not options["output_dir"]:
            self.stdout.write(text, ending="")

    def _jobs(self, names: list[str]) -> list[Any]:
        from django_gearman.declaration import registry

        if not names:
            return list(registry)
        unknown = [name for name in names if registry.find(name) is None]
        if unknown:
            raise CommandError(f"no job named {', '.join(map(repr, unknown))} is registered")
        return [registry.get(name) for name in names]

    def _check(self, path: Path, current: dict[str, Any], only: set[str]) -> None:
        from django_gearman.schemas.drift import compare

        snapshot = _read_snapshot(path)
        if only:
            jobs = {name: entry for name, entry in snapshot["jobs"].items() if name in only}
            snapshot = {**snapshot, "jobs": jobs}
        changes = compare(snapshot, current)
        for change in changes:
            self.stdout.write(str(change))
        failing = [change for change in changes if change.fails]
        if failing:
            raise CommandError(
                f"{len(failing)} breaking change(s) without a version bump: raise the job's "
                "version= (its workers then refuse old calls) or keep the old signature",
                returncode=1,
            )
        self.stdout.write(f"no unversioned breaking change ({len(changes)} change(s))")


def _read_snapshot(path: Path) -> dict[str, Any]:
    """The saved bundle, or CommandError (exit 2) saying why it cannot be used."""
    from django_gearman.schemas.export import BUNDLE_FORMAT

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SNAPSHOT_BYTES + 1)
    except OSError as exc:
        raise CommandError(f"cannot read snapshot {path}: {exc.strerror}", returncode=2) from exc
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise CommandError(f"snapshot {path} is over {MAX_SNAPSHOT_BYTES} bytes", returncode=2)
    try:
        snapshot = json.loads(raw)
    except ValueError as exc:
        raise CommandError(f"snapshot {path} is not JSON: {exc}", returncode=2) from exc
    if not isinstance(snapshot, dict) or snapshot.get("format") != BUNDLE_FORMAT:
        raise CommandError(
            f"snapshot {path} is not a gearman_schema bundle ({BUNDLE_FORMAT})", returncode=2
        )
    jobs = snapshot.get("jobs")
    required = {"function", "version", "parameters", "call", "result"}
    if not isinstance(jobs, dict) or not all(
        isinstance(entry, dict) and required <= set(entry) for entry in jobs.values()
    ):
        raise CommandError(f"snapshot {path}: malformed jobs entry", returncode=2)
    return snapshot
