"""``python -m bench``: run every section, print the tables, write markdown, JSON and PNGs."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import (
    background,
    codecs,
    concurrency,
    foreground,
    hung_server,
    machine,
    stored,
    targets,
)
from bench.processes import REPO_ROOT
from bench.profile import FULL, SMOKE, Profile
from bench.report import Report, write_outputs

DEFAULT_OUT = REPO_ROOT / "docs" / "bench"
SMOKE_OUT = Path(tempfile.gettempdir()) / "django-gearman-bench-smoke"

SECTIONS: dict[str, Callable[[Report, Profile, Path], None]] = {
    "codecs": lambda report, profile, out: codecs.run(
        report, profile.codec_seconds, profile.codec_repeats, out
    ),
    "django_stack": lambda report, profile, out: codecs.django_stack_costs(
        report, profile.codec_seconds, profile.codec_repeats
    ),
    "foreground": foreground.run,
    "background": background.run,
    "concurrency": concurrency.run,
    "hung": hung_server.run,
    "stored": stored.run,
}

METHOD = """\
How to read this: every number is a median of interleaved repetitions (each implementation takes
its turn in every round, so background load hits all alike); ratios compare numbers of this one
run only. Every timed loop is bounded by a count and a time. gearmand runs privately on a free
loopback port (`--threads=1`), and each worker is its own process. "raw socket (ceiling)" is a
minimal Python client and worker in `bench/wire.py` doing the least possible work per packet; it
shows how far Python can go, not a product. Targets are informational and never fail the run.
Where the time goes (profiles, system calls, concrete costs): [FINDINGS.md](FINDINGS.md).
"""


def header(profile: Profile, elapsed: float | None, load_at_start: str) -> str:
    took = f" It took {elapsed:.0f} s." if elapsed is not None else ""
    return (
        f"# django-gearman benchmarks\n\nProduced by `python3 -m bench` (`make bench`), "
        f"profile `{profile.name}`.{took}\n\n{METHOD}\n{machine.markdown(load_at_start)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a short run for CI (< 1 minute)")
    parser.add_argument(
        "--out", type=Path, help=f"output folder (default {DEFAULT_OUT}; with --smoke {SMOKE_OUT})"
    )
    parser.add_argument(
        "--only", action="append", choices=list(SECTIONS), help="run only this section (repeatable)"
    )
    args = parser.parse_args(argv)
    profile = SMOKE if args.smoke else FULL
    out: Path = args.out or (SMOKE_OUT if args.smoke else DEFAULT_OUT)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".write-test").write_text("")
        (out / ".write-test").unlink()
    except OSError as exc:
        parser.error(f"cannot write the results to {out}: {exc}")
    report = Report()
    load_at_start = machine.load_average()
    machine_header = header(profile, None, load_at_start)
    print(machine_header, flush=True)
    started = time.monotonic()
    for name in args.only or list(SECTIONS):
        section_start = time.monotonic()
        printed = len(report.tables)
        try:
            SECTIONS[name](report, profile, out)
        except Exception as exc:  # a section that breaks must not lose the others' results
            report.problems.append(f"{name}: section aborted: {type(exc).__name__}: {exc}")
        for table in report.tables[printed:]:
            print(table.markdown(), flush=True)
        print(f"({name}: {time.monotonic() - section_start:.1f} s)\n", flush=True)
    checks = targets.evaluate(report)
    summary = write_outputs(
        report, checks, header(profile, time.monotonic() - started, load_at_start), out
    )
    for check in checks:
        print(f"{check.verdict:4}  {check.name}: {check.row()[2]} (goal {check.row()[1]})")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(f"\nWrote {summary} and {len(report.figures)} plot(s) in {out}")
    return 0
