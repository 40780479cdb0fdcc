"""The issue's goals for the peers run, as ratios of one run (informational, never failing).

Goals about stored results and our django.tasks backend compare rows that other work adds to
``PEERS`` under the keys below; until then they read "not measured".
"""

from __future__ import annotations

from bench.peers.base import Peer
from bench.peers.peers import BASELINE
from bench.report import Report, TargetCheck

STORED_SQLITE = "ours-results-sqlite"  # django-gearman with results stored in SQLite
STORED_POSTGRES = "ours-results-postgres"  # the same in PostgreSQL (reported, no goal of its own)
OUR_TASKS = "ours-tasks"  # our django.tasks backend
TASKS_DB = "tasks-db"


def best_of(report: Report, peers: list[Peer], family: str, metric: str) -> str | None:
    """The key of the family's fastest row for ``metric`` (the fairest one to compare with)."""
    found = [
        (report.metrics[f"{metric}.{peer.key}"], peer.key)
        for peer in peers
        if peer.family == family and f"{metric}.{peer.key}" in report.metrics
    ]
    return max(found)[1] if found else None


def _ratio(report: Report, metric: str, ours: str, theirs: str | None) -> float | None:
    if theirs is None:
        return None
    return report.ratio(f"{metric}.{ours}", f"{metric}.{theirs}")


def evaluate(report: Report, peers: list[Peer]) -> list[TargetCheck]:
    celery_trip = best_of(report, peers, "celery", "roundtrip")
    celery_drain = best_of(report, peers, "celery", "drain1")
    return [
        TargetCheck(
            "results stored in SQLite: round trip / django-tasks-db",
            _ratio(report, "roundtrip", STORED_SQLITE, TASKS_DB),
            5,
            "x",
        ),
        TargetCheck(
            "results stored in SQLite: round trip / Celery with Redis results (faster pool)",
            _ratio(report, "roundtrip", STORED_SQLITE, celery_trip),
            3,
            "x",
        ),
        TargetCheck(
            "results stored in SQLite: background enqueue / django-tasks-db",
            _ratio(report, "enqueue", STORED_SQLITE, TASKS_DB),
            2,
            "x",
        ),
        TargetCheck(
            "our django.tasks backend: round trip / django-tasks-db",
            _ratio(report, "roundtrip", OUR_TASKS, TASKS_DB),
            10,
            "x",
        ),
        TargetCheck(
            "no stored results: round trip / Celery (faster pool)",
            _ratio(report, "roundtrip", BASELINE, celery_trip),
            10,
            "x",
        ),
        TargetCheck(
            "no stored results: drain, 1 worker / Celery (faster pool)",
            _ratio(report, "drain1", BASELINE, celery_drain),
            10,
            "x",
        ),
    ]
