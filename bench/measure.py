"""Bounded timing loops and the statistics the tables report.

Every loop stops at whichever comes first, a count or a time limit, so a slow implementation
costs the run a fixed time instead of a fixed (and possibly huge) number of jobs.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """``operations`` finished in ``seconds`` of wall time."""

    operations: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.operations / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Budget:
    """Upper bounds for one timed sample."""

    max_operations: int
    seconds: float


def sequential(
    operation: Callable[[], object], budget: Budget, latencies: list[float] | None = None
) -> Sample:
    """Run ``operation`` one call at a time; record each call's duration if asked."""
    if latencies is None:

        def one() -> int:
            operation()
            return 1

    else:
        clock, record = time.perf_counter, latencies.append

        def one() -> int:
            before = clock()
            operation()
            record(clock() - before)
            return 1

    return batched(one, budget)


def batched(operation: Callable[[], int], budget: Budget) -> Sample:
    """Run ``operation`` (which returns how many jobs it finished) until the budget is spent."""
    clock = time.perf_counter
    start = clock()
    stop_at = start + budget.seconds
    done = 0
    now = start
    while done < budget.max_operations and now < stop_at:
        done += operation()
        now = clock()
    return Sample(done, now - start)


def calls_per_batch(function: Callable[[], object], seconds: float) -> int:
    """How many calls of ``function`` take about ``seconds`` (doubling, then scaling)."""
    clock = time.perf_counter
    calls = 1
    elapsed = 0.0
    for _ in range(40):  # bounded: 2**40 calls would never be reached in time anyway
        start = clock()
        for _ in range(calls):
            function()
        elapsed = clock() - start
        if elapsed >= seconds / 10 or calls >= 1 << 24:
            break
        calls *= 2
    return max(1, int(calls * seconds / max(elapsed, 1e-9)))


def best_seconds_per_call(
    functions: dict[str, Callable[[], object]], seconds: float, repeats: int
) -> dict[str, float]:
    """Per function, the best (lowest) mean time of one call over ``repeats`` batches.

    Batches of all functions are interleaved round by round, and the minimum is kept (as
    ``timeit`` advises): other load on the machine only ever adds time. The clock is read once
    per batch, never per call, so it does not weigh on microsecond-sized work.
    """
    clock = time.perf_counter
    sizes = {name: calls_per_batch(function, seconds) for name, function in functions.items()}
    best = dict.fromkeys(functions, math.inf)
    for _ in range(repeats):
        for name, function in functions.items():
            calls = sizes[name]
            start = clock()
            for _ in range(calls):
                function()
            best[name] = min(best[name], (clock() - start) / calls)
    return best


def median_rate(samples: Sequence[Sample]) -> float:
    return statistics.median(sample.rate for sample in samples) if samples else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 is a latency that really happened)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]
