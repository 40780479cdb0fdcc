"""How long each part of a run may take: the full run (``make bench``) and the smoke run (CI)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.measure import Budget

TINY_PAYLOAD = b"0123456789abcdef"  # 16 bytes: the round trip, not the copy, is measured


@dataclass(frozen=True)
class Profile:
    name: str
    repeats: int  # interleaved repetitions of every throughput sample; medians are reported
    sequential: Budget  # one sample of one-at-a-time jobs
    codec_seconds: float  # one repeat of one codec measurement
    codec_repeats: int
    c_tool_jobs: int  # lines fed to one run of the C `gearman` client
    batch_size: int  # background jobs per batched submit
    batched: Budget
    drain_jobs: int  # jobs pre-filled before a worker drains them
    drain_repeats: int
    in_flight: tuple[int, ...]  # foreground jobs in flight, for the concurrency curve
    concurrency: Budget
    concurrency_repeats: int
    worker_lifetime: float  # seconds after which every worker process exits by itself


FULL = Profile(
    name="full",
    repeats=21,
    sequential=Budget(max_operations=30_000, seconds=0.4),
    codec_seconds=0.1,
    codec_repeats=7,
    c_tool_jobs=3_000,
    batch_size=1_000,
    batched=Budget(max_operations=200_000, seconds=0.4),
    drain_jobs=20_000,
    drain_repeats=7,
    in_flight=(1, 8, 64, 512),
    concurrency=Budget(max_operations=100_000, seconds=0.5),
    concurrency_repeats=7,
    worker_lifetime=900.0,
)

SMOKE = Profile(
    name="smoke",
    repeats=1,
    sequential=Budget(max_operations=200, seconds=0.2),
    codec_seconds=0.005,
    codec_repeats=1,
    c_tool_jobs=100,
    batch_size=100,
    batched=Budget(max_operations=500, seconds=0.2),
    drain_jobs=200,
    drain_repeats=1,
    in_flight=(1, 16),
    concurrency=Budget(max_operations=200, seconds=0.2),
    concurrency_repeats=1,
    worker_lifetime=120.0,
)
