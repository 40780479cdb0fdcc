"""Scale-out: 1, 2 and 3 gearmand servers behind one client and one worker command.

The client lists the servers and spreads jobs over them (a job's unique id picks its server,
and every background job gets one; see docs/deploy.md); ``gearman_worker -w 2`` serves all of
them. Per round and server count, a batch of background jobs is enqueued (timed) while the
workers are frozen, then the workers are thawed and the drain is timed. CPU shares say what
bounds the scaling on this machine.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.admin import AdminConnection
from bench.cpu import CpuMeter
from bench.harness import Scenario, private_gearmand
from bench.measure import Sample
from bench.peers.base import JOB_TIMEOUT, TEXT, PeerEnvironment, PeerFailure, check_echo
from bench.peers.gearman_peer import gearman_workers
from bench.peers.profile import PeerProfile
from bench.peers.project import setup_django
from bench.peers.workers import PeerWorkers
from bench.plots import bar_chart
from bench.report import Report, Table, fmt_rate, fmt_ratio
from tests.support.gearmand import Gearmand

WORKER_PROCESSES = 2
BATCH = 1_000
DRAIN_POLL_SECONDS = 0.002
DRAIN_TIMEOUT = 300.0


class Layout:
    """One server count: its client, its frozen workers, admin connections, CPU roles."""

    def __init__(
        self, scenario: Scenario, servers: list[str], pids: list[int], lifetime: float
    ) -> None:
        from bench.peers.project.gearman_jobs import echo
        from django_gearman import GearmanClient, Task

        self.servers = servers
        self.client = GearmanClient(servers, timeout=JOB_TIMEOUT)
        scenario.stack.callback(self.client.close)
        self.job = echo.using(client=self.client)
        self.background = [Task(echo.name, TEXT, background=True)] * BATCH
        self.wire_name = echo.wire_name
        env = PeerEnvironment(",".join(servers), 0, Path("/nonexistent"), lifetime)
        self.workers = scenario.stack.enter_context(
            PeerWorkers(gearman_workers(env, WORKER_PROCESSES))
        )
        for _ in range(3 * len(servers)):  # foreground jobs rotate: every server is reached
            check_echo(self.job.submit(TEXT), TEXT)
        self.workers.freeze()
        self.admins = [scenario.stack.enter_context(AdminConnection(s)) for s in servers]
        self.meter = CpuMeter({"gearmand": lambda: pids, "workers": self.workers.pids})

    def pending(self) -> list[int]:
        return [admin.function(self.wire_name).queued for admin in self.admins]

    def enqueue(self, jobs: int) -> Sample:
        started = time.perf_counter()
        for _ in range(jobs // BATCH):
            self.client.do_tasks(self.background)
        return Sample(jobs // BATCH * BATCH, time.perf_counter() - started)

    def drain(self, jobs: int) -> Sample:
        started = time.perf_counter()
        self.workers.thaw()
        try:
            while sum(left := self.pending()) > 0:
                if time.perf_counter() - started > DRAIN_TIMEOUT:
                    raise PeerFailure(f"jobs left per server after {DRAIN_TIMEOUT}s: {left}")
                time.sleep(DRAIN_POLL_SECONDS)
            elapsed = time.perf_counter() - started
            check_echo(self.job.submit(TEXT), TEXT)
        finally:
            self.workers.freeze()
        return Sample(jobs, elapsed)


def metered(layout: Layout, action: Callable[[], Sample], shares: dict[str, list[float]]) -> Sample:
    """``action``, also recording each role's CPU seconds over the wall time (share of a core)."""
    before = layout.meter.snapshot()
    sample = action()
    after = layout.meter.snapshot(client_first=True)
    for role in before:
        shares.setdefault(role, []).append((after[role] - before[role]) / sample.seconds)
    return sample


def one_round(
    report: Report,
    scenario: Scenario,
    count: int,
    layout: Layout,
    jobs: int,
    shares: dict[str, dict[str, list[float]]],
) -> None:
    """Enqueue ``jobs`` over ``count`` servers, then drain them; each sample is recorded."""

    def enqueue() -> Sample:
        return metered(
            layout, lambda: layout.enqueue(jobs), shares.setdefault(f"enqueue.{count}", {})
        )

    enqueued = scenario.attempt(f"enqueue on {count} server(s)", enqueue)
    if enqueued is None:
        return
    report.series.setdefault(f"scaleout.enqueue.{count}", []).append(enqueued.rate)

    def drain() -> Sample:
        action = functools.partial(layout.drain, enqueued.operations)
        return metered(layout, action, shares.setdefault(f"drain.{count}", {}))

    drained = scenario.attempt(f"drain on {count} server(s)", drain)
    if drained is not None:
        report.series.setdefault(f"scaleout.drain.{count}", []).append(drained.rate)


def run(report: Report, profile: PeerProfile, out: Path) -> None:
    setup_django()
    largest = max(profile.scale_out_servers)
    jobs = max(BATCH, profile.scale_out_jobs // BATCH * BATCH)
    shares: dict[str, dict[str, list[float]]] = {}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(private_gearmand()) for _ in range(largest)]
        scenario = Scenario(report, "scale-out", stack)
        layouts: dict[int, Layout] = {}
        for count in profile.scale_out_servers:
            chosen = servers[:count]

            def layout(chosen: list[Gearmand] = chosen) -> Layout:
                addresses, pids = [s.address for s in chosen], [s.pid for s in chosen]
                return Layout(scenario, addresses, pids, profile.worker_lifetime)

            made = scenario.attempt(f"{count} server(s)", layout)
            if made is not None:
                layouts[count] = made
        for _ in range(profile.scale_out_rounds):
            for count, found in layouts.items():
                one_round(report, scenario, count, found, jobs, shares)
    table(report, profile, jobs, shares)
    groups = {
        f"{phase}, {jobs:,} background jobs": {
            f"{count} server(s)": report.metrics[f"scaleout.{phase}.{count}"]
            for count in profile.scale_out_servers
            if f"scaleout.{phase}.{count}" in report.metrics
        }
        for phase in ("enqueue", "drain")
    }
    report.figures.append(
        bar_chart(
            out / "scale-out.png", "One client and gearman_worker -w 2 over N gearmand servers",
            "jobs/s", groups,
        ).name
    )  # fmt: skip


def _share(shares: dict[str, dict[str, list[float]]], name: str, role: str) -> str:
    found = shares.get(name, {}).get(role)
    return f"{statistics.median(found) * 100:.0f}%" if found else "n/a"


def table(
    report: Report, profile: PeerProfile, jobs: int, shares: dict[str, dict[str, list[float]]]
) -> None:
    made = Table(
        "scale-out",
        f"6. Scale-out: {jobs:,} background jobs over 1 to {max(profile.scale_out_servers)} "
        "gearmand servers",
        ["servers", "enqueue jobs/s", "vs 1 server", "client CPU", "gearmand CPU (sum)",
         "drain jobs/s", "vs 1 server", "gearmand CPU (sum)", "worker CPU (sum)"],
    )  # fmt: skip
    for count in profile.scale_out_servers:
        names = (f"scaleout.enqueue.{count}", f"scaleout.drain.{count}")
        for name in names:
            if report.series.get(name):
                report.metrics[name] = statistics.median(report.series[name])
        if not any(name in report.metrics for name in names):
            continue
        first = min(profile.scale_out_servers)
        made.add(
            count,
            fmt_rate(report.metrics.get(names[0])),
            fmt_ratio(report.ratio(names[0], f"scaleout.enqueue.{first}")),
            _share(shares, f"enqueue.{count}", "client"),
            _share(shares, f"enqueue.{count}", "gearmand"),
            fmt_rate(report.metrics.get(names[1])),
            fmt_ratio(report.ratio(names[1], f"scaleout.drain.{first}")),
            _share(shares, f"drain.{count}", "gearmand"),
            _share(shares, f"drain.{count}", "workers"),
        )
    made.notes.append(
        f"Median of {profile.scale_out_rounds} interleaved rounds. Enqueue: one client process, "
        f"`GearmanClient.do_tasks` of {BATCH:,} background jobs at a time, pipelined to every "
        "server at once; each job's random unique id picks its server (crc32 of the id modulo "
        f"the server count). Drain: `gearman_worker -w {WORKER_PROCESSES} --servers A,B,C` "
        "thawed after the enqueue, timed until every server's queue is empty. CPU: seconds of "
        "CPU per second of wall time (100% = one core). Every gearmand runs one I/O thread: "
        "a server near 100% is the bottleneck that more servers relieve. On 2 cores the client "
        "(enqueue) and the 2 worker processes (drain) share the cores with every gearmand, so "
        "more servers cannot raise the total beyond what the cores give."
    )
    made.notes.append(bound_note(shares))
    report.tables.append(made)


def bound_note(shares: dict[str, dict[str, list[float]]]) -> str:
    """What this run's CPU shares say bounded it (a sentence computed, not assumed)."""
    per_server = max(
        (
            statistics.median(found["gearmand"]) / int(name.split(".")[1])
            for name, found in shares.items()
            if found.get("gearmand")
        ),
        default=0.0,
    )
    busiest: dict[str, float] = {}
    for name, found in shares.items():
        total = sum(statistics.median(values) for values in found.values() if values)
        phase = name.split(".")[0]
        busiest[phase] = max(busiest.get(phase, 0.0), total)
    if per_server >= 0.8:
        verdict = "gearmand was the bottleneck at least once, so more servers could help there"
    else:
        verdict = (
            "gearmand was never the bottleneck: the client's and the workers' own CPU (and "
            "whatever else ran on the machine) bounded the rates, so more servers could not help"
        )
    used = ", ".join(f"{phase} {100 * total:.0f}%" for phase, total in sorted(busiest.items()))
    return (
        f"In this run one gearmand used at most {100 * per_server:.0f}% of a core (on average "
        "over the servers of a row), and "
        f"all measured processes together at most {used} (of 200%): {verdict}."
    )
