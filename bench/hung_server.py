"""Section "hung": foreground jobs/s with two servers, both healthy, then one SIGSTOPped.

A SIGSTOPped gearmand still accepts connections (the kernel completes the handshake) but never
answers: the worst kind of failure for a client, which cannot tell it from a slow server. Each
server has its own echo worker process; several client threads share one ``Client``. The table
shows what a caller gets while one server hangs, against the healthy pair.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from bench.harness import Scenario, private_gearmand
from bench.measure import Budget, Sample, median_rate
from bench.processes import python_worker
from bench.profile import TINY_PAYLOAD, Profile
from bench.report import Report, Table, fmt_rate, fmt_ratio
from django_gearman.protocol import Client, GearmanError
from tests.support.gearmand import Gearmand

FUNCTION = "hung.echo"
THREADS = 8
CONNECT_TIMEOUT = 0.5  # also the ack window: how long a silent server is waited for


def threaded_sample(client: Client, budget: Budget) -> tuple[Sample, int]:
    """(jobs completed by THREADS threads within the budget, calls that failed)."""
    per_thread = max(1, budget.max_operations // THREADS)
    stop_at = time.perf_counter() + budget.seconds
    done = [0] * THREADS
    failed = [0] * THREADS

    def caller(number: int) -> None:
        for _ in range(per_thread):
            if time.perf_counter() >= stop_at:
                return
            try:
                if client.submit(FUNCTION, TINY_PAYLOAD, timeout=10.0).result == TINY_PAYLOAD:
                    done[number] += 1
            except GearmanError:
                failed[number] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=caller, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(budget.seconds + 30.0)  # a call ends within its timeout; never wait forever
    return Sample(sum(done), time.perf_counter() - start), sum(failed)


def wait_until_used(client: Client, server: Gearmand, seconds: float = 30.0) -> None:
    """After SIGCONT: until the woken server is probed and serves again (bounded)."""
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        with contextlib.suppress(GearmanError):
            if client.submit(FUNCTION, TINY_PAYLOAD).server == server.address:
                return
        time.sleep(0.02)


def run(report: Report, profile: Profile, out: Path) -> None:
    # Samples long enough to span hang detection (the ack window) several times.
    budget = Budget(profile.concurrency.max_operations, 4 * profile.concurrency.seconds)
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(private_gearmand())
        second = stack.enter_context(private_gearmand())
        scenario = Scenario(report, "hung server", stack)
        for server in (first, second):
            spec = python_worker("ours", server.address, FUNCTION, profile.worker_lifetime)
            if scenario.workers(f"ours on {server.address}", server.address, [spec]) is None:
                return
        client = stack.enter_context(
            Client([first.address, second.address], connect_timeout=CONNECT_TIMEOUT)
        )
        if not scenario.warm_up("two servers", lambda: client.submit(FUNCTION, TINY_PAYLOAD)):
            return
        healthy: list[Sample] = []
        hung: list[Sample] = []
        hung_failures = 0
        for _ in range(max(1, profile.concurrency_repeats // 2)):
            healthy.append(threaded_sample(client, budget)[0])
            with first.hung():
                sample, failures = threaded_sample(client, budget)
            hung.append(sample)
            hung_failures += failures
            wait_until_used(client, first)
    both, one_hung = median_rate(healthy), median_rate(hung)
    report.metrics["hung.healthy"] = both
    report.metrics["hung.one_hung"] = one_hung
    report.series["hung.healthy"] = [sample.rate for sample in healthy]
    report.series["hung.one_hung"] = [sample.rate for sample in hung]
    table = Table(
        "hung-server",
        f"Foreground jobs/s, two servers, {THREADS} client threads: both healthy, one SIGSTOPped",
        ["servers", "jobs/s", "vs both healthy", "failed calls"],
    )
    table.add("both healthy", fmt_rate(both), fmt_ratio(1.0), 0)
    ratio = report.ratio("hung.one_hung", "hung.healthy")
    table.add("one of two SIGSTOPped", fmt_rate(one_hung), fmt_ratio(ratio), hung_failures)
    table.notes.append(
        f"Each sample runs {budget.seconds:g} s; connect timeout and ack window "
        f"{CONNECT_TIMEOUT:g} s. Failed calls are the ones in flight on the server when it "
        "stopped (JobTimeout, never re-sent); the others fail over. One echo worker process "
        "per server."
    )
    report.tables.append(table)
