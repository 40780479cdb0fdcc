"""The Prometheus text exposition format (version 0.0.4), written by hand (no dependency).

Two sources: gearmand's live counters per server and function (from a status snapshot), and the
job records (counts per job and status, and a duration histogram of finished attempts). Record
counts are gauges, not counters: purging old records lowers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db.models import Count, F, FloatField, Func, Q, Sum

from .status import StatusSnapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True, slots=True)
class DurationHistogram:
    """Cumulative counts per upper bound (``DURATION_BUCKETS``), plus the count and the sum."""

    job: str
    cumulative: tuple[int, ...]
    count: int
    total_seconds: float


@dataclass(frozen=True, slots=True)
class RecordMetrics:
    by_status: Mapping[tuple[str, str], int]  # (job, status) -> records
    durations: tuple[DurationHistogram, ...]


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{escape_label(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class Exposition:
    """Collects metric families in order; each family's HELP and TYPE are written once."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]
    ) -> None:
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")
        self._lines.extend(f"{name}{_labels(labels)} {_number(v)}" for labels, v in samples)

    def histogram(self, name: str, help_text: str, histograms: Iterable[DurationHistogram]) -> None:
        """One histogram family: ``_bucket`` lines per bound (and +Inf), ``_sum``, ``_count``."""
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} histogram")
        for histogram in histograms:
            job = histogram.job
            for bound, cumulative in zip(DURATION_BUCKETS, histogram.cumulative, strict=True):
                labels = _labels({"job": job, "le": _number(bound)})
                self._lines.append(f"{name}_bucket{labels} {cumulative}")
            self._lines.append(
                f"{name}_bucket{_labels({'job': job, 'le': '+Inf'})} {histogram.count}"
            )
            self._lines.append(
                f"{name}_sum{_labels({'job': job})} {_number(histogram.total_seconds)}"
            )
            self._lines.append(f"{name}_count{_labels({'job': job})} {histogram.count}")

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def _server_families(out: Exposition, snapshot: StatusSnapshot) -> None:
    servers = snapshot.servers
    out.family(
        "gearman_server_up",
        "gauge",
        "1 if the Gearman server answered its admin protocol, else 0.",
        (({"server": s.address}, int(s.up)) for s in servers),
    )
    rows = [(s.address, f) for s in servers for f in s.functions]
    out.family(
        "gearman_function_queued",
        "gauge",
        "Jobs gearmand holds per function, running ones included.",
        (({"server": a, "function": f.function}, f.total) for a, f in rows),
    )
    out.family(
        "gearman_function_running",
        "gauge",
        "Jobs a worker is running, per function.",
        (({"server": a, "function": f.function}, f.running) for a, f in rows),
    )
    out.family(
        "gearman_function_waiting",
        "gauge",
        "Jobs no worker has taken yet, per function and priority.",
        (
            ({"server": a, "function": f.function, "priority": priority}, count)
            for a, f in rows
            for priority, count in (("high", f.high), ("normal", f.normal), ("low", f.low))
        ),
    )
    out.family(
        "gearman_function_workers",
        "gauge",
        "Workers that can run the function.",
        (({"server": a, "function": f.function}, f.workers) for a, f in rows),
    )
    out.family(
        "gearman_worker_connections",
        "gauge",
        "Connections that registered at least one function.",
        (({"server": s.address}, len(s.workers)) for s in servers if s.up),
    )


def _record_families(out: Exposition, records: RecordMetrics) -> None:
    out.family(
        "gearman_job_records",
        "gauge",
        "Job records in the store, per job and status (purging lowers it).",
        (
            ({"job": job, "status": status.lower()}, count)
            for (job, status), count in sorted(records.by_status.items())
        ),
    )
    out.histogram(
        "gearman_job_duration_seconds",
        "Run time of finished jobs (start to finish), per job.",
        records.durations,
    )


# ``finished_at - started_at`` in seconds, per database. Django's own duration arithmetic on
# SQLite calls a Python function per row (parsing both timestamps there), which dominated the
# metrics request over thousands of records; these are native. (template, arg_joiner, order)
_RUN_SECONDS = {
    "sqlite": ("((julianday(%(expressions)s)) * 86400.0)", ") - julianday(", False),
    "postgresql": ("EXTRACT(EPOCH FROM (%(expressions)s))", " - ", False),
    "mysql": ("(TIMESTAMPDIFF(MICROSECOND, %(expressions)s) / 1000000.0)", ", ", True),
}


def run_seconds(vendor: str) -> Func:
    """The run time of a record as a float expression for the database ``vendor``."""
    template, joiner, started_first = _RUN_SECONDS.get(vendor, _RUN_SECONDS["postgresql"])
    columns = (
        (F("started_at"), F("finished_at"))
        if started_first
        else (
            F("finished_at"),
            F("started_at"),
        )
    )
    return Func(*columns, template=template, arg_joiner=joiner, output_field=FloatField())


def collect_record_metrics() -> RecordMetrics:
    """Two grouped queries, all arithmetic in the database: counts per (job, status), and per
    job the run time histogram of finished attempts (records with a start and a finish)."""
    from django.db import connections, router

    from django_gearman.models import JobRecord

    vendor = connections[router.db_for_read(JobRecord)].vendor
    by_status = {
        (job, status): count
        for job, status, count in JobRecord.objects.values_list("job_name", "status")
        .annotate(count=Count("pk"))
        .order_by()
    }
    buckets = {
        f"le{index}": Count("pk", filter=Q(run_seconds__lte=bound))
        for index, bound in enumerate(DURATION_BUCKETS)
    }
    rows = (
        JobRecord.objects.filter(started_at__isnull=False, finished_at__isnull=False)
        .annotate(run_seconds=run_seconds(vendor))
        .values("job_name")
        .annotate(count=Count("pk"), total=Sum("run_seconds"), **buckets)
        .order_by("job_name")
    )
    durations = tuple(
        DurationHistogram(
            job=row["job_name"],
            cumulative=tuple(row[f"le{index}"] for index in range(len(DURATION_BUCKETS))),
            count=row["count"],
            total_seconds=float(row["total"] or 0.0),
        )
        for row in rows
    )
    return RecordMetrics(by_status=by_status, durations=durations)


def render_metrics(snapshot: StatusSnapshot, records: RecordMetrics | None) -> str:
    """The whole exposition: gearmand's counters, then (if given) the record metrics."""
    out = Exposition()
    _server_families(out, snapshot)
    if records is not None:
        _record_families(out, records)
    return out.text()
