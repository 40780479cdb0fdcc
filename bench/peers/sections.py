"""The measurements: sequential round trips, background enqueue, drains, jobs in flight.

Every peer gets its turn in every round (A B C ... A B C ...). While one peer is measured the
others' workers are frozen (``bench.peers.workers``), so the shared cores are its own.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bench.harness import Scenario, private_gearmand
from bench.measure import Budget, Sample, sequential
from bench.peers.base import TEXT, Peer, PeerClient, PeerEnvironment, PeerFailure, check_echo
from bench.peers.profile import PeerProfile
from bench.peers.workers import PeerWorkers
from bench.report import Report

DRAIN_POLL_SECONDS = 0.002
DRAIN_TIMEOUT = 300.0
FILL_TOLERANCE = 8  # a frozen consumer blocked in BRPOP may already hold a few popped jobs
DRAIN_OVER_ROUND_TRIP = 2.0  # a drain runs at least this much faster than round trips


@dataclass(frozen=True)
class SharedServers:
    """What lives for the whole run: Redis (one database per peer) and the SQLite file."""

    redis_port: int
    database: str


@dataclass
class RunningPeer:
    peer: Peer
    client: PeerClient
    workers: PeerWorkers | None


@contextlib.contextmanager
def environment(shared: SharedServers, profile: PeerProfile) -> Iterator[PeerEnvironment]:
    """A fresh gearmand for one section (its queues cannot be purged), the shared rest."""
    from pathlib import Path

    with private_gearmand() as server:
        yield PeerEnvironment(
            server.address, shared.redis_port, Path(shared.database), profile.worker_lifetime
        )


def connect(scenario: Scenario, peer: Peer, env: PeerEnvironment) -> PeerClient | None:
    def make() -> PeerClient:
        client = peer.client(env)
        scenario.stack.callback(client.close)
        client.purge()
        scenario.stack.callback(client.purge)
        return client

    return scenario.attempt(f"{peer.key} client", make)


def start(
    scenario: Scenario, peer: Peer, env: PeerEnvironment, processes: int, warm_up: int
) -> RunningPeer | None:
    """Connect, start ``processes`` workers, time the first result (start-up), warm up, and
    freeze the workers until the peer's turn; None (a problem noted) if anything failed."""
    client = connect(scenario, peer, env)
    if client is None:
        return None

    def launch() -> RunningPeer:
        spawned = time.perf_counter()
        released = None if peer.released is None else functools.partial(peer.released, env)
        workers = scenario.stack.enter_context(PeerWorkers(peer.workers(env, processes), released))
        check_echo(client.call(TEXT), TEXT)
        scenario.report.series.setdefault(f"startup{processes}.{peer.key}", []).append(
            time.perf_counter() - spawned
        )
        for _ in range(warm_up):
            check_echo(client.call(TEXT), TEXT)
        workers.freeze()
        return RunningPeer(peer, client, workers)

    return scenario.attempt(f"{peer.key} with {processes} worker(s)", launch)


def start_all(
    scenario: Scenario, peers: list[Peer], env: PeerEnvironment, processes: int, warm_up: int
) -> list[RunningPeer]:
    """Start the peers one after another (so start-up times are not inflated by each other);
    at the end of the section all are asked to stop at once."""
    running = [found for peer in peers if (found := start(scenario, peer, env, processes, warm_up))]

    def terminate_all() -> None:
        for found in running:
            if found.workers is not None:
                found.workers.terminate()

    scenario.stack.callback(terminate_all)
    return running


def in_turn(running: RunningPeer, measure: Callable[[], Sample]) -> Callable[[], Sample]:
    """``measure`` with this peer's workers thawed, frozen again afterwards."""

    def run() -> Sample:
        assert running.workers is not None
        running.workers.thaw()
        try:
            return measure()
        finally:
            running.workers.freeze()

    return run


def timed(operation: Callable[[], int]) -> Sample:
    started = time.perf_counter()
    done = operation()
    return Sample(done, time.perf_counter() - started)


def drain(running: RunningPeer, jobs: int) -> Sample:
    """Queue ``jobs`` while the workers are frozen, thaw them, and time until the broker holds
    no unfinished job; then one round trip proves the workers complete jobs."""
    client, workers = running.client, running.workers
    assert workers is not None
    client.fill(jobs)
    queued = client.pending()
    started = time.perf_counter()
    if queued < jobs - FILL_TOLERANCE:
        raise PeerFailure(f"{jobs} jobs queued, the broker shows {queued} unfinished")
    workers.thaw()
    try:
        deadline = started + DRAIN_TIMEOUT
        while client.pending() > 0:
            if time.perf_counter() > deadline:
                raise PeerFailure(f"{client.pending()} of {jobs} jobs left after {DRAIN_TIMEOUT}s")
            workers.raise_if_exited()
            time.sleep(DRAIN_POLL_SECONDS)
        elapsed = time.perf_counter() - started
        check_echo(client.call(TEXT), TEXT)
    finally:
        workers.freeze()
    return Sample(jobs, elapsed)


def drain_size(report: Report, profile: PeerProfile, key: str, peer: str) -> int:
    """Jobs to queue for ``peer``: ``drain_jobs``, fewer for a slow peer (about
    ``drain_seconds`` of work at the rate measured so far), never fewer than ``drain_min_jobs``.
    The choice is kept as metric ``KEY.PEER.jobs``."""
    known = report.metrics.get(f"drain1.{peer}")
    if known is None:
        known = report.metrics.get(f"roundtrip.{peer}", 0.0) * DRAIN_OVER_ROUND_TRIP
    wanted = int(known * profile.drain_seconds) if known else profile.drain_jobs
    jobs = max(profile.drain_min_jobs, min(profile.drain_jobs, wanted))
    report.metrics[f"{key}.{peer}.jobs"] = jobs
    return jobs


def drains(scenario: Scenario, profile: PeerProfile, key: str, running: list[RunningPeer]) -> None:
    """The drain of every running peer, interleaved, recorded under ``key``."""
    report = scenario.report
    candidates: dict[str, Callable[[], Sample]] = {
        r.peer.key: functools.partial(drain, r, drain_size(report, profile, key, r.peer.key))
        for r in running
    }
    record(report, key, scenario.interleave(profile.drain_rounds, candidates))


def record(report: Report, key: str, samples: dict[str, list[Sample]]) -> None:
    """Per-round rates as ``series[key.peer]``, their median as ``metrics[key.peer]``."""
    import statistics

    for peer, found in samples.items():
        rates = [sample.rate for sample in found]
        report.series[f"{key}.{peer}"] = rates
        report.metrics[f"{key}.{peer}"] = statistics.median(rates)


def with_workers(
    report: Report, profile: PeerProfile, peers: list[Peer], shared: SharedServers
) -> dict[str, list[float]]:
    """Round trips, jobs in flight and the 1-worker drain, against one worker process each;
    returns the round trips' latencies per peer."""
    latencies: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack, environment(shared, profile) as env:
        scenario = Scenario(report, "workers", stack)
        running = start_all(scenario, peers, env, 1, profile.warm_up_calls)
        round_trips = {
            r.peer.key: in_turn(
                r,
                functools.partial(
                    sequential,
                    functools.partial(r.client.call, TEXT),
                    profile.round_trip,
                    latencies.setdefault(r.peer.key, []),
                ),
            )
            for r in running
        }
        record(report, "roundtrip", scenario.interleave(profile.rounds, round_trips))
        batch = [TEXT] * profile.in_flight
        in_flight = {
            r.peer.key: in_turn(
                r, functools.partial(timed, functools.partial(r.client.call_many, batch))
            )
            for r in running
        }
        record(report, "inflight", scenario.interleave(profile.in_flight_rounds, in_flight))
        drains(scenario, profile, "drain1", running)
    return {peer: values for peer, values in latencies.items() if values}


def two_workers(
    report: Report, profile: PeerProfile, peers: list[Peer], shared: SharedServers
) -> None:
    """The drain again, with two worker processes per peer (not in the smoke profile)."""
    if not profile.two_worker_drain:
        return
    with contextlib.ExitStack() as stack, environment(shared, profile) as env:
        scenario = Scenario(report, "two workers", stack)
        running = start_all(scenario, peers, env, 2, profile.warm_up_calls)
        drains(scenario, profile, "drain2", running)


def enqueue(report: Report, profile: PeerProfile, peers: list[Peer], shared: SharedServers) -> None:
    """Background enqueues one at a time, with no worker running (only the submit is timed)."""
    with contextlib.ExitStack() as stack, environment(shared, profile) as env:
        scenario = Scenario(report, "enqueue", stack)
        candidates: dict[str, Callable[[], Sample]] = {}
        for peer in peers:
            client = connect(scenario, peer, env)
            if client is None:
                continue
            one = functools.partial(client.enqueue, TEXT)
            if scenario.warm_up(peer.key, one):
                candidates[peer.key] = functools.partial(sequential, one, profile.enqueue)
        record(report, "enqueue", scenario.interleave(profile.rounds, candidates))


def budget_note(budget: Budget) -> str:
    return f"at most {budget.max_operations:,} jobs or {budget.seconds:g} s per sample"
