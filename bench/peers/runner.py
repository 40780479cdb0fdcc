"""``python -m bench.peers``: every section, then the tables, plots, targets and files."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from bench import machine
from bench.peers import scaleout, sections, tables, targets
from bench.peers.base import Peer
from bench.peers.peers import PEERS
from bench.peers.profile import FULL, SMOKE, PeerProfile
from bench.peers.redis_server import redis_binary
from bench.peers.shared import shared_servers
from bench.processes import REPO_ROOT
from bench.report import Report, write_outputs

DEFAULT_OUT = REPO_ROOT / "docs" / "bench" / "peers"
SMOKE_OUT = Path(tempfile.gettempdir()) / "django-gearman-bench-peers-smoke"
PACKAGES = ("celery", "kombu", "redis", "rq", "dramatiq", "django-tasks", "django-tasks-db")

Section = Callable[[Report, PeerProfile, list[Peer], sections.SharedServers, Path], None]
LATENCIES: dict[str, list[float]] = {}


def _with_workers(
    report: Report, profile: PeerProfile, peers: list[Peer], shared: sections.SharedServers,
    out: Path,
) -> None:  # fmt: skip
    LATENCIES.update(sections.with_workers(report, profile, peers, shared))


SECTIONS: dict[str, Section] = {
    "enqueue": lambda report, profile, peers, shared, out: sections.enqueue(
        report, profile, peers, shared
    ),
    "workers": _with_workers,
    "two-workers": lambda report, profile, peers, shared, out: sections.two_workers(
        report, profile, peers, shared
    ),
    "scale-out": lambda report, profile, peers, shared, out: scaleout.run(report, profile, out),
}

METHOD = """\
The same trivial job (echo a 16-character string) through django-gearman and the usual
alternatives, one worker process each unless stated, on one machine in one run. Every number is a
median of interleaved rounds (every peer takes its turn in every round, so background load hits
all alike); "ours / this" is the median of the per-round ratios. gearmand (`--threads=1`) and
`redis-server` are private processes on free loopback ports, started and stopped by the run.
Each peer's configuration, and what favours or costs it, is in the first table. Targets are
informational and never fail the run. Where our start-up time goes: [FINDINGS.md](FINDINGS.md).
Results stored in SQLite (the file django-tasks-db uses, same settings) and in a private
PostgreSQL server, and our django.tasks backend, are rows of their own. `--peers KEY` measures
only some rows; `python -m bench.peers.costs KEY` profiles one alone (FINDINGS.md, section 3).
"""


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _redis_version() -> str:
    try:
        found = subprocess.run(
            [redis_binary(), "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return found.stdout.strip() or "unknown"


def header(profile: PeerProfile, elapsed: float | None, load_at_start: str) -> str:
    took = f" It took {elapsed:.0f} s." if elapsed is not None else ""
    peers = ["| package | version |", "|---|---|"]
    peers += [f"| {name} | {_version(name)} |" for name in PACKAGES]
    peers.append(f"| redis-server | {_redis_version()} |")
    return (
        f"# django-gearman against Celery, RQ, Dramatiq and django-tasks-db\n\n"
        f"Produced by `python3 -m bench.peers` (`make bench-peers`), profile `{profile.name}`."
        f"{took}\n\n{METHOD}\n{machine.markdown(load_at_start)}\n" + "\n".join(peers) + "\n"
    )


def add_tables(report: Report, profile: PeerProfile, peers: list[Peer], out: Path) -> None:
    """The peers' tables first (in reading order), then whatever the sections added."""
    added, report.tables = report.tables, []
    tables.configuration_table(report, peers)
    tables.round_trip_table(report, peers, LATENCIES, profile)
    tables.rate_table(
        report, "enqueue", "2. Background enqueue, one job at a time (no worker running)", peers,
        f"Median of {profile.rounds} interleaved rounds ({sections.budget_note(profile.enqueue)})."
        " Each call returns once the broker has the job: gearmand's JOB_CREATED, Redis's reply, "
        "django-tasks-db's committed row.",
    )  # fmt: skip
    tables.drain_table(report, peers, profile)
    tables.rate_table(
        report, "inflight",
        f"4. {profile.in_flight} jobs in flight: submit them all, then wait for every result",
        peers,
        f"Median of {profile.in_flight_rounds} interleaved rounds, one worker process. Each "
        "peer's own way: `GearmanClient.do_tasks` (pipelined), Celery `apply_async` then a "
        "`ResultSet.get`, RQ `enqueue_many` then each `latest_result`, Dramatiq `send` then each "
        "`get_result`, django-tasks `enqueue` then each result re-read until finished.",
    )  # fmt: skip
    tables.startup_table(report, peers)
    report.tables.extend(added)
    tables.plots(report, peers, out)


def _unwritable(out: Path) -> str | None:
    """Why the results cannot be written to ``out`` (checked before minutes of work), or None."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out):
            return None
    except OSError as exc:
        return str(exc)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a short run for the tests")
    sections_help = "run only this section (repeatable)"
    parser.add_argument("--only", action="append", choices=list(SECTIONS), help=sections_help)
    peers_help = "measure only this peer (repeatable; its key, as in the configuration table)"
    keys = [peer.key for peer in PEERS]
    parser.add_argument("--peers", action="append", choices=keys, metavar="KEY", help=peers_help)
    out_help = f"output folder (default {DEFAULT_OUT}; with --smoke {SMOKE_OUT})"
    parser.add_argument("--out", type=Path, help=out_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    profile = SMOKE if args.smoke else FULL
    out: Path = args.out or (SMOKE_OUT if args.smoke else DEFAULT_OUT)
    if (problem := _unwritable(out)) is not None:
        parser.error(f"cannot write the results to {out}: {problem}")
    report = Report()
    peers = [peer for peer in PEERS if not args.peers or peer.key in args.peers]
    load_at_start = machine.load_average()
    print(header(profile, None, load_at_start), flush=True)
    started = time.monotonic()
    with shared_servers(postgres=any(peer.needs_postgres for peer in peers)) as shared:
        for name in args.only or list(SECTIONS):
            section_start = time.monotonic()
            try:
                SECTIONS[name](report, profile, peers, shared, out)
            except Exception as exc:  # one broken section must not lose the others' results
                report.problems.append(f"{name}: section aborted: {type(exc).__name__}: {exc}")
            print(f"({name}: {time.monotonic() - section_start:.1f} s)", flush=True)
    add_tables(report, profile, peers, out)
    for table in report.tables:
        print(table.markdown(), flush=True)
    checks = targets.evaluate(report, peers)
    elapsed = time.monotonic() - started
    summary = write_outputs(report, checks, header(profile, elapsed, load_at_start), out)
    print((out / "targets.md").read_text())
    print("".join(f"PROBLEM: {problem}\n" for problem in report.problems))
    print(f"{elapsed:.0f} s; {summary} and {len(report.figures)} plot(s) written in {out}")
    return 0
