"""The issue's goals, checked against one run's metrics (informational: never an exit code)."""

from __future__ import annotations

from bench.report import Report, TargetCheck


def _largest_in_flight(report: Report, setup: str, name: str) -> tuple[int, float] | None:
    prefix = f"inflight.{setup}.{name}."
    points = {
        int(key.removeprefix(prefix)): value
        for key, value in report.metrics.items()
        if key.startswith(prefix)
    }
    if not points:
        return None
    largest = max(points)
    return largest, points[largest]


def in_flight_ratio(report: Report, setup: str, name: str) -> float | None:
    ours = _largest_in_flight(report, setup, name)
    theirs = _largest_in_flight(report, setup, "pygearman")
    if ours is None or theirs is None or ours[0] != theirs[0]:
        return None
    size = ours[0]
    return report.ratio(f"inflight.{setup}.{name}.{size}", f"inflight.{setup}.pygearman.{size}")


def _inverse_ratio(report: Report, slower: str, faster: str) -> float | None:
    """``faster / slower`` of two latencies: the rate ratio they imply, without the bursts of
    other load that move the mean (the median round trip barely feels them)."""
    top, bottom = report.metric(faster), report.metric(slower)
    if top is None or not bottom:
        return None
    return top / bottom


def evaluate(report: Report) -> list[TargetCheck]:
    """Our targets, then the ceiling's expected ratios (a check on the benchmark itself)."""
    ratio = report.ratio
    added_us = report.metric("envelope.small.envelope json.added_us")
    return [
        TargetCheck(
            "foreground sequential: transport / ceiling",
            ratio("foreground.ours", "foreground.raw"),
            0.9,
            "x",
        ),
        TargetCheck(
            "  the same by p50 latency: ceiling p50 / transport p50",
            _inverse_ratio(report, "latency.ours.p50_us", "latency.raw.p50_us"),
            0.9,
            "x",
        ),
        TargetCheck(
            "background sequential: transport / ceiling",
            ratio("background.ours", "background.raw"),
            0.9,
            "x",
        ),
        TargetCheck(
            "background batched: transport / pygearman",
            ratio("background_batched.ours", "background_batched.pygearman"),
            5,
            "x",
        ),
        TargetCheck(
            "worker drain: our Worker / pygearman", ratio("drain.ours", "drain.pygearman"), 2, "x"
        ),
        TargetCheck(
            "worker drain: gearman_worker -w 1 / pygearman",
            ratio("drain.django_w1", "drain.pygearman"),
            2,
            "x",
        ),
        TargetCheck(
            "many in flight: submit_many / submit_multiple_jobs (own workers)",
            in_flight_ratio(report, "pairs", "ours"),
            3,
            "x",
        ),
        TargetCheck(
            "many in flight: asyncio / submit_multiple_jobs (own workers)",
            in_flight_ratio(report, "pairs", "async"),
            3,
            "x",
        ),
        TargetCheck(
            "foreground: full Django stack / transport",
            ratio("foreground.django", "foreground.ours"),
            0.8,
            "x",
        ),
        TargetCheck(
            "  the same by p50 latency: transport p50 / Django p50",
            _inverse_ratio(report, "latency.django.p50_us", "latency.ours.p50_us"),
            0.8,
            "x",
        ),
        TargetCheck(
            "envelope overhead over bare orjson, small job",
            added_us,
            2.0,
            " us",
            higher_is_better=False,
        ),
        TargetCheck(
            "(ceiling check) foreground sequential: raw / pygearman, expect ~1.3",
            ratio("foreground.raw", "foreground.pygearman"),
            1.3,
            "x",
        ),
        TargetCheck(
            "(ceiling check) background sequential: raw / pygearman, expect ~1.7",
            ratio("background.raw", "background.pygearman"),
            1.7,
            "x",
        ),
        TargetCheck(
            "(ceiling check) worker drain: raw / pygearman, expect ~2.8",
            ratio("drain.raw", "drain.pygearman"),
            2.8,
            "x",
        ),
        TargetCheck(
            "(ceiling check) background batched: raw / pygearman, expect ~11",
            ratio("background_batched.raw", "background_batched.pygearman"),
            11,
            "x",
        ),
    ]
