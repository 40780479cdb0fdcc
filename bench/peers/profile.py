"""How long each part of a peers run may take: the full run and the smoke run (tests)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.measure import Budget


@dataclass(frozen=True)
class PeerProfile:
    name: str
    rounds: int  # interleaved rounds of the round trip and enqueue samples
    warm_up_calls: int  # untimed round trips once a peer's workers answered the first
    round_trip: Budget  # one sample of sequential round trips
    enqueue: Budget  # one sample of sequential background enqueues
    drain_jobs: int  # at most this many jobs are queued before the workers are thawed
    drain_min_jobs: int  # at least this many
    drain_seconds: float  # a slower peer gets fewer jobs: about this long a drain, at least
    drain_rounds: int
    two_worker_drain: bool  # also drain with 2 worker processes per peer (a second start of all)
    in_flight: int  # jobs submitted before their results are awaited
    in_flight_rounds: int
    scale_out_servers: tuple[int, ...]
    scale_out_jobs: int  # background jobs per enqueue/drain sample of the scale-out section
    scale_out_rounds: int
    worker_lifetime: float  # seconds after which every worker process exits by itself


FULL = PeerProfile(
    name="full",
    rounds=5,
    warm_up_calls=20,
    round_trip=Budget(max_operations=20_000, seconds=1.0),
    enqueue=Budget(max_operations=50_000, seconds=0.5),
    drain_jobs=2_000,
    drain_min_jobs=100,
    drain_seconds=3.0,
    drain_rounds=3,
    two_worker_drain=True,
    in_flight=500,
    in_flight_rounds=3,
    scale_out_servers=(1, 2, 3),
    scale_out_jobs=20_000,
    scale_out_rounds=5,
    worker_lifetime=1_200.0,
)

SMOKE = PeerProfile(
    name="smoke",
    rounds=1,
    warm_up_calls=2,
    round_trip=Budget(max_operations=20, seconds=0.2),
    enqueue=Budget(max_operations=20, seconds=0.1),
    drain_jobs=20,
    drain_min_jobs=20,
    drain_seconds=0.1,
    drain_rounds=1,
    two_worker_drain=False,  # a second start of every peer would double the smoke run
    in_flight=20,
    in_flight_rounds=1,
    scale_out_servers=(1, 3),
    scale_out_jobs=200,
    scale_out_rounds=1,
    worker_lifetime=180.0,
)
