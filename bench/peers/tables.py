"""The peers run's tables and plots, from the metrics and series the sections recorded.

Metric names: ``roundtrip.PEER`` (and ``.p50_us``, ``.p99_us``), ``enqueue.PEER``,
``drain1.PEER``, ``drain2.PEER``, ``inflight.PEER``; per-round rates under the same names in
``series``, so a ratio is the median of the ratios of the same rounds.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.measure import percentile
from bench.peers.base import Peer
from bench.peers.peers import BASELINE
from bench.peers.profile import PeerProfile
from bench.plots import bar_chart
from bench.report import Report, Table, fmt_rate, fmt_ratio


def _spread(report: Report, name: str) -> str:
    rates = report.series.get(name) or []
    return f"{fmt_rate(min(rates))} - {fmt_rate(max(rates))}" if rates else "n/a"


def _ours_over(report: Report, key: str, peer: Peer) -> str:
    if peer.key == BASELINE:
        return "1.00x"
    return fmt_ratio(report.ratio(f"{key}.{BASELINE}", f"{key}.{peer.key}"))


def configuration_table(report: Report, peers: list[Peer]) -> None:
    table = Table(
        "configuration",
        "Peers and how each is configured",
        ["peer", "configuration", "what favours it", "what costs it"],
    )
    for peer in peers:
        table.add(peer.label, peer.configuration, peer.favours, peer.handicaps)
    table.notes.append(
        "One worker process each unless a table says otherwise. While one peer is measured the "
        "other peers' worker processes are frozen (SIGSTOP), so idle polling and heartbeats never "
        "run on the shared cores during its turn (a db_worker is frozen only at a moment when it "
        "holds no SQLite lock: the harness checks, and retries)."
    )
    report.tables.append(table)


def round_trip_table(
    report: Report, peers: list[Peer], latencies: dict[str, list[float]], profile: PeerProfile
) -> None:
    table = Table(
        "roundtrip",
        "1. Sequential round trips: submit one job, wait for its result, repeat",
        ["peer", "jobs/s (median)", "min - max", "p50 us", "p99 us", "ours / this"],
    )
    for peer in peers:
        rate = report.metrics.get(f"roundtrip.{peer.key}")
        values = latencies.get(peer.key, [])
        if rate is None or not values:
            continue
        p50, p99 = percentile(values, 0.5) * 1e6, percentile(values, 0.99) * 1e6
        report.metrics[f"roundtrip.{peer.key}.p50_us"] = p50
        report.metrics[f"roundtrip.{peer.key}.p99_us"] = p99
        table.add(
            peer.label,
            fmt_rate(rate),
            _spread(report, f"roundtrip.{peer.key}"),
            f"{p50:,.0f}",
            f"{p99:,.0f}",
            _ours_over(report, "roundtrip", peer),
        )
    table.notes.append(
        f"Median of {profile.rounds} interleaved rounds ({profile.round_trip.max_operations:,} "
        f"jobs or {profile.round_trip.seconds:g} s per sample); p50/p99 over every round trip of "
        "every round. The job echoes a 16-character string and its result comes back to the "
        "caller: Celery, RQ and Dramatiq through their Redis result backends, django-tasks-db "
        "through its result row, django-gearman in the WORK_COMPLETE packet itself."
    )
    report.tables.append(table)


def rate_table(report: Report, key: str, title: str, peers: list[Peer], note: str) -> None:
    table = Table(key, title, ["peer", "jobs/s (median)", "min - max", "ours / this"])
    for peer in peers:
        rate = report.metrics.get(f"{key}.{peer.key}")
        if rate is None:
            continue
        table.add(
            peer.label, fmt_rate(rate), _spread(report, f"{key}.{peer.key}"),
            _ours_over(report, key, peer),
        )  # fmt: skip
    table.notes.append(note)
    report.tables.append(table)


def drain_table(report: Report, peers: list[Peer], profile: PeerProfile) -> None:
    table = Table(
        "drain",
        "3. Drain: queued background jobs taken by 1 and 2 worker processes",
        ["peer", "jobs queued", "1 worker jobs/s", "2 workers jobs/s", "2 / 1",
         "ours / this (1)", "ours / this (2)"],
    )  # fmt: skip
    for peer in peers:
        one = report.metrics.get(f"drain1.{peer.key}")
        two = report.metrics.get(f"drain2.{peer.key}")
        if one is None and two is None:
            continue
        sizes = {report.metrics.get(f"drain{n}.{peer.key}.jobs") for n in (1, 2)} - {None}
        table.add(
            peer.label,
            " / ".join(f"{size:,.0f}" for size in sorted(sizes)),  # type: ignore[type-var]
            fmt_rate(one),
            fmt_rate(two),
            fmt_ratio(two / one if one and two else None),
            _ours_over(report, "drain1", peer),
            _ours_over(report, "drain2", peer),
        )
    table.notes.append(
        f"Median of {profile.drain_rounds} interleaved rounds. {profile.drain_jobs:,} jobs, or "
        f"fewer for a slower peer (about {profile.drain_seconds:g} s of its work at the rate "
        f"seen so far, at least {profile.drain_min_jobs:,}). The jobs are queued while the "
        "peer's (already running, warmed-up) workers are frozen; the clock runs from thawing "
        "them until the broker holds no unfinished job (gearmand's total, Celery's queue plus "
        "unacknowledged messages, RQ's queue, intermediate queue and started registry, "
        "Dramatiq's message hash, django-tasks-db's READY and RUNNING rows), polled every 2 ms. "
        "Background jobs store no result (Celery `ignore_result`, RQ `result_ttl=0`, Dramatiq "
        "`store_results=False`); django-tasks-db always writes its row. One round trip after "
        "each drain proves the workers complete jobs. N worker processes: `gearman_worker -w N`, "
        "`celery -P prefork -c N`, `dramatiq --processes N`, otherwise N worker commands."
    )
    report.tables.append(table)


def startup_table(report: Report, peers: list[Peer]) -> None:
    table = Table(
        "startup",
        "5. Worker start-up: from starting the worker command to the first result",
        ["peer", "1 worker process, s", "2 worker processes, s"],
    )
    for peer in peers:
        one = report.series.get(f"startup1.{peer.key}")
        two = report.series.get(f"startup2.{peer.key}")
        if not one and not two:
            continue
        for name, found in (("startup1", one), ("startup2", two)):
            if found:
                report.metrics[f"{name}.{peer.key}"] = statistics.median(found)
        table.add(
            peer.label,
            f"{statistics.median(one):.2f}" if one else "n/a",
            f"{statistics.median(two):.2f}" if two else "n/a",
        )
    table.notes.append(
        "One start per configuration, peers started one after another (not in parallel). "
        "The client is connected before the worker command starts and submits its first job "
        "at once; the time includes the interpreter, imports, framework set-up, connecting and "
        "that one job. Where ours goes: [FINDINGS.md](FINDINGS.md)."
    )
    report.tables.append(table)


def _by_label(report: Report, peers: list[Peer], key: str, suffix: str = "") -> dict[str, float]:
    names = {peer.label: f"{key}.{peer.key}{suffix}" for peer in peers}
    return {label: report.metrics[name] for label, name in names.items() if name in report.metrics}


def plots(report: Report, peers: list[Peer], out: Path) -> None:
    groups = {
        "sequential round trips": _by_label(report, peers, "roundtrip"),
        "background enqueue, one at a time": _by_label(report, peers, "enqueue"),
        "drain, 1 worker process": _by_label(report, peers, "drain1"),
        "drain, 2 worker processes": _by_label(report, peers, "drain2"),
        "jobs in flight": _by_label(report, peers, "inflight"),
    }
    report.figures.append(
        bar_chart(
            out / "peers.png", "The same trivial job through each peer (higher is better)",
            "jobs/s", groups,
        ).name
    )  # fmt: skip
    latency = {
        "p50": _by_label(report, peers, "roundtrip", ".p50_us"),
        "p99": _by_label(report, peers, "roundtrip", ".p99_us"),
    }
    report.figures.append(
        bar_chart(
            out / "peers-latency.png", "Round-trip latency (lower is better)", "microseconds",
            latency,
        ).name
    )  # fmt: skip
