"""``python -m bench.peers.startup``: where a ``gearman_worker`` process spends its start-up.

Each phase is timed in fresh processes (median of several), as the command goes through it:
the interpreter, importing Django, ``django.setup()`` (which imports every app's
``gearman_jobs``), the management command and worker modules, the system checks that
``BaseCommand.execute`` runs, building the job specs (call and result schemas), and connecting
and serving the first job. ``-X importtime`` says which imports weigh most, and a cProfile of
the same steps says which functions. The same job through pygearman's worker and our bare
transport worker is timed for comparison. Prints markdown (for docs/bench/peers/FINDINGS.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict

from bench.djangosite import ECHO_WIRE_NAME, SETTINGS_MODULE
from bench.harness import private_gearmand
from bench.processes import REPO_ROOT, child_environment
from bench.wire import RawClient

PHASES = """
import os
import django
mark("import django")
os.environ["DJANGO_SETTINGS_MODULE"] = {settings!r}
django.setup()
mark("django.setup() (imports the apps' gearman_jobs)")
from django.core.management import load_command_class
command = load_command_class("django_gearman", "gearman_worker")
try:  # the Django layer after its split into modules, then before it
    from django_gearman.serving import build_worker
    import django_gearman.supervisor
except ImportError:
    from django_gearman.worker import build_worker
from django_gearman import registry
mark("import the command and the worker runtime")
command.check(**command.get_check_kwargs({{}}))  # the checks BaseCommand.execute runs
mark("system checks (BaseCommand.execute runs them)")
jobs = registry.for_queues([])
worker = build_worker(jobs, [{address!r}])
mark("build the job specs and the transport Worker")
worker.work(max_jobs=1)
mark("connect, register, serve the first (queued) job")
worker.close()
"""
TIMED = """
import time
marks = [("interpreter start (spawn to the first line)", time.time())]
def mark(name):
    marks.append((name, time.time()))
{phases}
print("MARKS " + __import__("json").dumps(marks))
"""
PROFILED = """
import cProfile, io, pstats
def mark(name):
    pass
profiler = cProfile.Profile()
profiler.enable()
{phases}
profiler.disable()
out = io.StringIO()
pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats({top})
print(out.getvalue())
"""


def _queue_one(address: str, function: str, payload: bytes) -> RawClient:
    client = RawClient(address, function)
    client.submit_background(payload)
    return client


def _call_payload() -> bytes:
    return b'GME/1 ct=application/json\n{"args":["x"],"kwargs":{}}'


def timed_phases(address: str, repeats: int) -> tuple[list[float], dict[str, list[float]]]:
    """Per run: wall time from spawn to exit, and each phase's duration inside the process."""
    walls: list[float] = []
    phases: dict[str, list[float]] = defaultdict(list)
    code = TIMED.format(phases=PHASES.format(settings=SETTINGS_MODULE, address=address))
    for _ in range(repeats):
        _queue_one(address, ECHO_WIRE_NAME, _call_payload()).close()
        spawned = time.time()
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO_ROOT, env=child_environment({}),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        ended = time.time()
        walls.append(ended - spawned)
        line = next(x for x in done.stdout.splitlines() if x.startswith("MARKS "))
        marks = [(name, moment) for name, moment in json.loads(line.removeprefix("MARKS "))]
        for (_, before), (name, after) in itertools.pairwise([("spawn", spawned), *marks]):
            phases[name].append(after - before)
        phases["close the worker, interpreter exit"].append(ended - marks[-1][1])
    return walls, phases


def first_job_seconds(address: str, command: list[str], function: str, payload: bytes) -> float:
    """Spawn a worker command with one job queued; seconds until that job is done."""
    client = _queue_one(address, function, payload)
    try:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=child_environment({}), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            from bench.admin import AdminConnection

            with AdminConnection(address) as admin:
                admin.wait_for(function, lambda s: s.queued == 0, 60, "the first job")
            return time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(10)
    finally:
        client.close()


def import_weights(top: int) -> list[tuple[str, float]]:
    """Import self time summed per top-level package, for the command's imports."""
    code = (
        f"import os; os.environ['DJANGO_SETTINGS_MODULE'] = {SETTINGS_MODULE!r}\n"
        "import django; django.setup()\n"
        "from django.core.management import load_command_class\n"
        "load_command_class('django_gearman', 'gearman_worker')\n"
        "try:\n    import django_gearman.serving, django_gearman.supervisor\n"
        "except ImportError:\n    import django_gearman.worker\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=REPO_ROOT,
        env=child_environment({}), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    totals: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line, or anything else on stderr
        totals[parts[2].strip().split(".")[0]] += int(parts[0]) / 1e6
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def profile_top(address: str, top: int) -> str:
    """cProfile of the same phases in one process, the ``top`` functions by cumulative time."""
    _queue_one(address, ECHO_WIRE_NAME, _call_payload()).close()
    phases = PHASES.format(settings=SETTINGS_MODULE, address=address)
    done = subprocess.run(
        [sys.executable, "-c", PROFILED.format(phases=phases, top=top)], cwd=REPO_ROOT,
        env=child_environment({}), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.stdout.strip() or done.stderr[-2000:]


def _both(values: list[float]) -> str:
    """Median and minimum: on a shared machine the minimum is the closest to the intrinsic cost."""
    return f"{statistics.median(values):.3f} ({min(values):.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.startup", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with private_gearmand() as server:
        address = server.address
        walls, phases = timed_phases(address, args.repeats)
        print(f"## Start-up of a worker process, median of {args.repeats} runs\n")
        exits = phases["close the worker, interpreter exit"]
        first = [wall - gone for wall, gone in zip(walls, exits, strict=True)]
        print(f"From spawn to the first job done: {_both(first)} s\n")
        print("| phase | seconds, median (min) |\n|---|---|")
        for name, values in phases.items():
            print(f"| {name} | {_both(values)} |")
        print("\n## The same first job through other workers (spawn to job done)\n")
        print("| worker | seconds, median (min) |\n|---|---|")
        commands = {
            "manage.py gearman_worker -w 1": (
                [sys.executable, "-m", "django", "gearman_worker", "-w", "1", "--servers",
                 address, "--settings", SETTINGS_MODULE, "--log-level", "WARNING"],
                ECHO_WIRE_NAME, _call_payload(),
            ),
            "our transport Worker (bench.workers ours)": (
                [sys.executable, "-m", "bench.workers", "ours", address, "st.ours"],
                "st.ours", b"x",
            ),
            "pygearman 0.2.6 worker (bench.workers pygearman)": (
                [sys.executable, "-m", "bench.workers", "pygearman", address, "st.pygearman"],
                "st.pygearman", b"x",
            ),
        }  # fmt: skip
        for label, (command, function, payload) in commands.items():
            found = [first_job_seconds(address, command, function, payload) for _ in range(5)]
            print(f"| {label} | {_both(found)} |")
        print("\n## Imports by top-level package (-X importtime, self time summed)\n")
        print("| package | seconds |\n|---|---|")
        for name, seconds in import_weights(15):
            print(f"| {name} | {seconds:.3f} |")
        print("\n## cProfile of the phases in one process (cumulative)\n\n```")
        print(profile_top(address, 25))
        print("```")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
