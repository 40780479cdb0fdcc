"""Section 4: foreground throughput against the number of jobs in flight.

Twice: as deployed (each client with workers of its own kind: what a user gets), and with every
client against the same raw-socket workers (the clients alone; gearmand and the workers cap it).
A batch of k jobs is sent and all k results are awaited before the next batch: k in flight.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path

from bench.clients import LABELS, AsyncSubmitter, Submitter
from bench.harness import Scenario, private_gearmand
from bench.measure import Sample, batched, median_rate
from bench.plots import line_chart
from bench.processes import python_worker
from bench.profile import TINY_PAYLOAD, Profile
from bench.report import Report, Table, fmt_rate, fmt_ratio
from bench.targets import in_flight_ratio

FUNCTION = "inflight.echo"
WORKER_PROCESSES = 2
CLIENT_KINDS = ("raw", "ours", "async", "pygearman")
CURVES = {
    "raw": "raw socket, pipelined (ceiling)",
    "ours": "ours: Client.submit_many",
    "async": "ours: AsyncClient.submit_many",
    "async_tasks": "ours: asyncio.gather of AsyncClient.submit",
    "pygearman": "pygearman submit_multiple_jobs",
}


def batch_operations(submitter: Submitter, kind: str, size: int) -> dict[str, Callable[[], int]]:
    payloads = [TINY_PAYLOAD] * size
    operations: dict[str, Callable[[], int]] = {
        kind: functools.partial(submitter.call_many, payloads)
    }
    if isinstance(submitter, AsyncSubmitter):
        operations["async_tasks"] = functools.partial(submitter.call_concurrently, payloads)
    return operations


SETUPS: dict[str, tuple[str, dict[str, str]]] = {
    "pairs": (
        "4. Foreground jobs/s against jobs in flight: each client with 2 worker processes of "
        "its own kind",
        {"raw": "raw", "ours": "ours", "async": "ours", "pygearman": "pygearman"},
    ),
    "shared": (
        "4b. The clients alone: the same against 2 shared raw-socket echo workers",
        dict.fromkeys(CLIENT_KINDS, "raw"),
    ),
}


def run(report: Report, profile: Profile, out: Path) -> None:
    for setup, (title, worker_kinds) in SETUPS.items():
        curves = measure_curves(report, profile, setup, worker_kinds)
        report.tables.append(curve_table(report, setup, title, curves, profile.in_flight))
        report.figures.append(
            line_chart(
                out / f"concurrency-{setup}.png",
                title.split(": ", 1)[1],
                "jobs in flight (batch size)",
                "jobs/s",
                list(profile.in_flight),
                {
                    CURVES.get(name, name): [points.get(size) for size in profile.in_flight]
                    for name, points in curves.items()
                },
            ).name
        )


def measure_curves(
    report: Report, profile: Profile, setup: str, worker_kinds: dict[str, str]
) -> dict[str, dict[int, float]]:
    """Median jobs/s per client and batch size; also stored as ``inflight.<setup>.<name>.<k>``."""
    curves: dict[str, dict[int, float]] = {}
    with contextlib.ExitStack() as stack:
        address = stack.enter_context(private_gearmand()).address
        scenario = Scenario(report, f"concurrency ({setup})", stack)
        submitters: dict[str, Submitter] = {}
        for worker_kind in sorted(set(worker_kinds.values())):
            function = f"inflight.{worker_kind}"
            specs = [
                python_worker(worker_kind, address, function, profile.worker_lifetime)
                for _ in range(WORKER_PROCESSES)
            ]
            if not scenario.workers(worker_kind, address, specs):
                continue
            for kind, served_by in worker_kinds.items():
                if served_by == worker_kind:
                    found = scenario.submitter(kind, address, function)
                    if found is not None:
                        submitters[kind] = found
        for size in profile.in_flight:
            candidates: dict[str, Callable[[], Sample]] = {}
            for kind, submitter in submitters.items():
                for name, operation in batch_operations(submitter, kind, size).items():
                    if scenario.warm_up(f"{name} x{size}", operation):
                        candidates[name] = functools.partial(
                            batched, operation, profile.concurrency
                        )
            samples = scenario.interleave(profile.concurrency_repeats, candidates)
            for name, runs in samples.items():
                curves.setdefault(name, {})[size] = median_rate(runs)
                report.metrics[f"inflight.{setup}.{name}.{size}"] = median_rate(runs)
                report.series[f"inflight.{setup}.{name}.{size}"] = [run.rate for run in runs]
    return curves


def curve_table(
    report: Report,
    setup: str,
    title: str,
    curves: dict[str, dict[int, float]],
    sizes: tuple[int, ...],
) -> Table:
    largest = sizes[-1]
    table = Table(
        f"concurrency-{setup}",
        title,
        ["client", *[f"{size} in flight" for size in sizes], f"vs pygearman at {largest}"],
    )
    for name in sorted(curves, key=list(CURVES).index):
        points = curves[name]
        table.add(
            CURVES.get(name, LABELS.get(name, name)),
            *[fmt_rate(points.get(size)) for size in sizes],
            fmt_ratio(in_flight_ratio(report, setup, name)),
        )
    table.notes.append(
        f"A batch of k foreground jobs is submitted and all k results awaited (k in flight); "
        f"median of the interleaved repetitions per point; {WORKER_PROCESSES} echo worker "
        f"processes (16-byte payload)."
    )
    return table
