"""Section 3: background submissions (one at a time and batched) and worker drain rates.

Submissions go to a gearmand with no worker, so only the submitting side is timed. The drain
test fills a queue with N jobs first, then starts the worker process(es) and watches gearmand's
counters: the clock runs from the first job taken to the queue being empty, so process start-up
is not counted. After each drain one foreground job of the same payload proves the worker really
completes it (a worker that failed every job would also empty a queue).
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.admin import AdminConnection, AdminError, FunctionStatus
from bench.clients import LABELS
from bench.cpu import cpu_seconds, process_tree
from bench.djangosite import ECHO_WIRE_NAME
from bench.harness import Scenario, c_tool_sample, private_gearmand
from bench.measure import Sample, batched, sequential
from bench.plots import bar_chart
from bench.processes import RunningWorkers, WorkerSpec, django_worker, python_worker, worker_for
from bench.profile import TINY_PAYLOAD, Profile
from bench.report import Report, Table, fmt_rate, rate_table
from bench.wire import RawClient

SUBMIT_KINDS = ("raw", "ours", "django", "pygearman")
BATCH_KINDS = ("raw", "ours", "pygearman")
FILL_CHUNK = 1_000
POLL_SECONDS = 0.002


def run(report: Report, profile: Profile, out: Path) -> None:
    submissions(report, profile)
    drains(report, profile)
    groups = {
        "one at a time": _values(report, "background"),
        f"batches of {profile.batch_size}": _values(report, "background_batched"),
        f"worker drain, {profile.drain_jobs} queued jobs": _values(report, "drain"),
    }
    report.figures.append(
        bar_chart(
            out / "background.png", "Background jobs (higher is better)", "jobs/s", groups
        ).name
    )


def _values(report: Report, prefix: str) -> dict[str, float]:
    found = {
        name.removeprefix(prefix + "."): value
        for name, value in report.metrics.items()
        if name.startswith(prefix + ".") and name.count(".") == 1
    }
    return {LABELS.get(kind, kind): value for kind, value in found.items()}


def submissions(report: Report, profile: Profile) -> None:
    one_by_one: dict[str, Callable[[], Sample]] = {}
    in_batches: dict[str, Callable[[], Sample]] = {}
    with contextlib.ExitStack() as stack:
        address = stack.enter_context(private_gearmand()).address
        scenario = Scenario(report, "background", stack)
        for kind in SUBMIT_KINDS:
            function = ECHO_WIRE_NAME if kind == "django" else f"bg.{kind}"
            submitter = scenario.submitter(kind, address, function)
            if submitter is None:
                continue
            argument = submitter.prepare(TINY_PAYLOAD)
            one = functools.partial(submitter.submit_background, argument)
            if not scenario.warm_up(kind, one):
                continue
            one_by_one[kind] = functools.partial(sequential, one, profile.sequential)
            if kind in BATCH_KINDS:
                batch = [argument] * profile.batch_size
                many = functools.partial(submitter.submit_background_many, batch)
                in_batches[kind] = functools.partial(batched, many, profile.batched)
        one_by_one["c"] = functools.partial(
            c_tool_sample, address, "bg.c", TINY_PAYLOAD, profile.c_tool_jobs, True
        )
        samples = scenario.interleave(profile.repeats, one_by_one)
        batch_samples = scenario.interleave(profile.repeats, in_batches)
    labels = {**LABELS, "c": "C gearman tool (-b -N)", "django": "ours: Django job.dispatch()"}
    rate_table(
        report,
        "background",
        "3a. Background submissions/s, one at a time (no worker)",
        "jobs/s",
        samples,
        labels,
    ).notes.append("Each submission waits for JOB_CREATED before the next is sent.")
    rate_table(
        report,
        "background_batched",
        f"3b. Background submissions/s in batches of {profile.batch_size} (no worker)",
        "jobs/s",
        batch_samples,
        labels,
    ).notes.append(
        "raw: one write of all SUBMIT_JOB_BG packets; ours: Client.submit_many; pygearman: "
        "submit_multiple_jobs(background=True, wait_until_complete=False)."
    )


DRAIN_LINEUP: dict[str, Callable[[str, str, float], list[WorkerSpec]]] = {
    "raw": lambda address, fn, life: [python_worker("raw", address, fn, life)],
    "ours": lambda address, fn, life: [python_worker("ours", address, fn, life)],
    "pygearman": lambda address, fn, life: [python_worker("pygearman", address, fn, life)],
    "c": lambda address, fn, life: [worker_for("c", address, fn, life)],
    "django_w1": lambda address, fn, life: [django_worker(address, 1, life)],
    "django_w2": lambda address, fn, life: [django_worker(address, 2, life)],
    "raw2": lambda address, fn, life: [python_worker("raw", address, fn, life)] * 2,
}


def django_payload() -> bytes:
    """The call envelope the Django client would send for ``echo(<16 chars>)``."""
    from bench.djangosite import setup_django

    setup_django()
    from bench.djangosite.gearman_jobs import echo
    from django_gearman.calls import job_spec

    payload: bytes = job_spec(echo).encode_call([TINY_PAYLOAD.decode()], {})
    return payload


def drains(report: Report, profile: Profile) -> None:
    samples: dict[str, list[Sample]] = {}
    busy: dict[str, list[tuple[float, float]]] = {}
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(private_gearmand())
        address = server.address
        scenario = Scenario(report, "drain", stack)
        alive = dict(DRAIN_LINEUP)
        for _ in range(profile.drain_repeats):
            for kind, specs_for in list(alive.items()):
                django = kind.startswith("django")
                function = ECHO_WIRE_NAME if django else f"drain.{kind}"
                payload = scenario.attempt("django payload", django_payload) if django else None
                specs = specs_for(address, function, profile.worker_lifetime)
                drain = functools.partial(
                    drain_once,
                    address,
                    function,
                    payload or TINY_PAYLOAD,
                    profile.drain_jobs,
                    specs,
                    server.pid,
                )
                outcome = scenario.attempt(kind, drain)
                if outcome is None:
                    del alive[kind]
                else:
                    samples.setdefault(kind, []).append(outcome[0])
                    busy.setdefault(kind, []).append(outcome[1])
    table = rate_table(
        report,
        "drain",
        f"3c. Worker drain: jobs/s taken from a queue of {profile.drain_jobs} pre-filled jobs",
        "jobs/s",
        samples,
        LABELS,
    )
    scaling = report.ratio("drain.django_w2", "drain.django_w1")
    if scaling:
        report.metrics["drain_scaling_w2_over_w1"] = scaling
        table.notes.append(f"Scaling gearman_worker -w 1 -> -w 2: {scaling:.2f}x.")
    table.notes.append(
        "One worker process unless stated. Django workers run the typed echo job on a json call "
        "envelope; the others echo 16 bytes. One worker waits for gearmand after every job "
        "(GRAB_JOB, JOB_ASSIGN, WORK_COMPLETE), so both are partly idle (3d); a second process "
        "fills those gaps until gearmand's one thread or the 2 shared cores are full."
    )
    busy_table = Table(
        "drain_cpu",
        "3d. CPU busy during a drain (share of one core, median)",
        ["implementation", "gearmand", "worker process(es)", "jobs/s"],
    )
    for kind, shares in busy.items():
        gearmand_share = statistics.median(share[0] for share in shares)
        worker_share = statistics.median(share[1] for share in shares)
        report.metrics[f"drain_cpu.{kind}.gearmand"] = gearmand_share
        busy_table.add(
            LABELS.get(kind, kind),
            f"{gearmand_share:.0%}",
            f"{worker_share:.0%}",
            fmt_rate(report.metrics.get(f"drain.{kind}")),
        )
    busy_table.notes.append(
        "CPU seconds used during the drain divided by its wall time. gearmand runs one I/O "
        "thread (--threads=1): near 100% it is the bottleneck and more workers cannot help."
    )
    report.tables.append(busy_table)


def fill_queue(address: str, function: str, payload: bytes, jobs: int) -> None:
    client = RawClient(address, function)
    try:
        for start in range(0, jobs, FILL_CHUNK):
            client.submit_background_many([payload] * min(FILL_CHUNK, jobs - start))
    finally:
        client.close()


def drain_once(
    address: str,
    function: str,
    payload: bytes,
    jobs: int,
    specs: list[WorkerSpec],
    gearmand_pid: int,
) -> tuple[Sample, tuple[float, float]]:
    """Fill, start the workers, time first-job-taken to empty, check one real completion.

    Also returns the CPU share of gearmand and of all worker processes during the drain.
    """
    with AdminConnection(address) as admin:
        if admin.function(function).queued:
            raise AdminError(f"queue {function} not empty before the drain")
        fill_queue(address, function, payload, jobs)
        admin.wait_for(function, lambda s: s.queued == jobs, 30, f"{jobs} queued jobs")
        with RunningWorkers(address, specs, wait_ready=False) as workers:
            started = _poll(admin, workers, function, lambda s: s.queued < jobs or s.running > 0)
            cpu_before = _cpu_split(workers, gearmand_pid)
            finished = _poll(admin, workers, function, lambda s: s.queued == 0, timeout=300)
            cpu_after = _cpu_split(workers, gearmand_pid)
            client = RawClient(address, function)
            try:
                client.call(payload)  # raises unless the worker answers WORK_COMPLETE
            finally:
                client.close()
    wall = max(finished - started, 1e-9)
    shares = ((cpu_after[0] - cpu_before[0]) / wall, (cpu_after[1] - cpu_before[1]) / wall)
    return Sample(jobs, finished - started), shares


def _cpu_split(workers: RunningWorkers, gearmand_pid: int) -> tuple[float, float]:
    """CPU seconds so far of gearmand and of every worker process (and their children)."""
    worker_pids = [pid for process in workers.processes for pid in process_tree(process.pid)]
    return cpu_seconds([gearmand_pid]), cpu_seconds(worker_pids)


def _poll(
    admin: AdminConnection,
    workers: RunningWorkers,
    function: str,
    condition: Callable[[FunctionStatus], bool],
    timeout: float = 60.0,
) -> float:
    """The time at which ``condition`` was first seen true (polling every 2 ms)."""
    deadline = time.perf_counter() + timeout
    while True:
        now = time.perf_counter()
        if condition(admin.function(function)):
            return now
        if now > deadline:
            raise AdminError(f"{function}: condition not reached in {timeout}s")
        workers.raise_if_exited()
        time.sleep(POLL_SECONDS)
