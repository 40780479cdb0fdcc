"""Sections 2 and 5: sequential foreground round trips (one client, one worker process, tiny
payload) and their latency percentiles.

Each implementation talks to its own kind of worker (a pair, as a user would deploy it); the C
``gearman`` tool is a client and worker pair too. All workers stay registered (idle workers
sleep) while the clients take turns, so repetitions interleave.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
from collections.abc import Callable
from pathlib import Path

from bench.clients import LABELS
from bench.cpu import CpuMeter, process_tree
from bench.djangosite import ECHO_WIRE_NAME
from bench.harness import Scenario, c_tool_sample, private_gearmand
from bench.measure import Sample, percentile, sequential
from bench.plots import bar_chart
from bench.processes import RunningWorkers, worker_for
from bench.profile import TINY_PAYLOAD, Profile
from bench.report import Report, Table, rate_table

PAIRS = ("raw", "ours", "django", "pygearman")


def function_for(kind: str) -> str:
    return ECHO_WIRE_NAME if kind == "django" else f"fg.{kind}"


def run(report: Report, profile: Profile, out: Path) -> None:
    candidates: dict[str, Callable[[], Sample]] = {}
    latencies: dict[str, list[float]] = {}
    cpu: dict[str, list[dict[str, float]]] = {}
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(private_gearmand())
        address = server.address
        scenario = Scenario(report, "foreground", stack)
        for kind in PAIRS:
            function = function_for(kind)
            spec = worker_for(kind, address, function, profile.worker_lifetime)
            pool = scenario.workers(kind, address, [spec])
            if pool is None:
                continue
            submitter = scenario.submitter(kind, address, function)
            if submitter is None or not scenario.check_echo(kind, submitter, TINY_PAYLOAD):
                continue
            call = functools.partial(submitter.call, submitter.prepare(TINY_PAYLOAD))
            latencies[kind] = []
            candidates[kind] = metered(
                functools.partial(sequential, call, profile.sequential, latencies[kind]),
                CpuMeter(roles(pool, server.pid)),
                cpu.setdefault(kind, []),
            )
        c_spec = worker_for("c", address, "fg.c", profile.worker_lifetime)
        pool = scenario.workers("c", address, [c_spec])
        if pool is not None:
            candidates["c"] = metered(
                functools.partial(
                    c_tool_sample, address, "fg.c", TINY_PAYLOAD, profile.c_tool_jobs, False
                ),
                CpuMeter(roles(pool, server.pid)),
                cpu.setdefault("c", []),
            )
        samples = scenario.interleave(profile.repeats, candidates)

    labels = {**LABELS, "django": "ours: Django typed job (gearman_worker -w 1)"}
    labels["c"] = "C gearman tool (client -N + worker -w)"
    table = rate_table(
        report,
        "foreground",
        "2. Foreground round trips/s, sequential, 1 client + 1 worker",
        "jobs/s",
        samples,
        labels,
    )
    table.notes.append(
        "Payload 16 bytes, echoed. The Django row sends a typed call envelope (json) and "
        "validates call and result; the others move bytes. The C tool's time includes its "
        "process start-up."
    )
    cpu_table(report, cpu, labels)
    latency_table(report, latencies, labels)
    percentiles = {
        f"p{p}": {
            labels[k]: report.metrics[f"latency.{k}.p{p}_us"]
            for k in latencies
            if f"latency.{k}.p{p}_us" in report.metrics
        }
        for p in (50, 99)
    }
    report.figures.append(
        bar_chart(
            out / "latency.png", "Foreground latency (lower is better)", "microseconds", percentiles
        ).name
    )
    values = {labels[k]: report.metrics[f"foreground.{k}"] for k in samples}
    report.figures.append(
        bar_chart(
            out / "foreground.png",
            "Sequential foreground round trips (higher is better)",
            "jobs/s",
            {"1 client, 1 worker process, 16-byte payload": values},
        ).name
    )


def roles(pool: RunningWorkers, gearmand_pid: int) -> dict[str, Callable[[], list[int]]]:
    def workers() -> list[int]:
        return [pid for process in pool.processes for pid in process_tree(process.pid)]

    return {"worker": workers, "gearmand": lambda: [gearmand_pid]}


def metered(
    sample: Callable[[], Sample], meter: CpuMeter, found: list[dict[str, float]]
) -> Callable[[], Sample]:
    """``sample``, also recording the CPU microseconds per job of each process into ``found``."""

    def run() -> Sample:
        before = meter.snapshot()
        result = sample()
        after = meter.snapshot(client_first=True)
        found.append(CpuMeter.per_job(before, after, result.operations))
        return result

    return run


def cpu_table(
    report: Report, cpu: dict[str, list[dict[str, float]]], labels: dict[str, str]
) -> None:
    table = Table(
        "foreground_cpu",
        "2b. CPU time per sequential round trip, by process (microseconds, median)",
        ["implementation", "client", "worker", "gearmand", "sum", "wall per job"],
    )
    for kind, runs in cpu.items():
        if not runs:
            continue
        medians = {role: statistics.median(run[role] for run in runs) for role in runs[0]}
        for role, value in medians.items():
            report.metrics[f"cpu.{kind}.{role}_us"] = value
        wall = report.metrics.get(f"foreground.{kind}")
        table.add(
            labels[kind],
            *(f"{medians[role]:.1f}" for role in ("client", "worker", "gearmand")),
            f"{sum(medians.values()):.1f}",
            f"{1e6 / wall:.1f}" if wall else "n/a",
        )
    table.notes.append(
        "From /proc schedstat of every thread of each process during the samples of section 2. "
        "It includes the kernel's work to put each process to sleep and wake it per packet, "
        "which depends on the timing of its peers: the same client code used 23 us against one "
        "worker and 34 us against another. A sum above the wall time per job means the "
        "processes overlapped."
    )
    report.tables.append(table)


def latency_table(
    report: Report, latencies: dict[str, list[float]], labels: dict[str, str]
) -> None:
    table = Table(
        "latency",
        "5. Foreground latency (sequential, microseconds per round trip)",
        ["implementation", "p50 us", "p90 us", "p99 us", "max us", "samples"],
    )
    for kind, values in latencies.items():
        if not values:
            continue
        p50, p90, p99 = (percentile(values, f) for f in (0.5, 0.9, 0.99))
        report.metrics[f"latency.{kind}.p50_us"] = p50 * 1e6
        report.metrics[f"latency.{kind}.p99_us"] = p99 * 1e6
        table.add(
            labels[kind],
            f"{p50 * 1e6:,.0f}",
            f"{p90 * 1e6:,.0f}",
            f"{p99 * 1e6:,.0f}",
            f"{max(values) * 1e6:,.0f}",
            len(values),
        )
    table.notes.append("All round trips of all repetitions of section 2, pooled.")
    report.tables.append(table)
