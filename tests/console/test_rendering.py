"""The pieces the pages are made of: the admin-protocol join, the SVG chart, the metrics text,
the activity numbers and the hiding of sensitive arguments."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from django_gearman.console.activity import format_age
from django_gearman.console.chart import Bar, render_bars
from django_gearman.console.envelopes import HIDDEN, hide_sensitive
from django_gearman.console.metrics import (
    DURATION_BUCKETS,
    escape_label,
    render_metrics,
)
from django_gearman.console.status import (
    ServerSnapshot,
    StatusSnapshot,
    merge_function_rows,
    take_snapshot,
)
from django_gearman.protocol import FunctionStatus, PriorityStatus
from tests.console.harness import ConsoleSite
from tests.support.gearmand import free_port

SAMPLE = re.compile(r'[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+')


def test_function_rows_join_status_and_priorities() -> None:
    rows = merge_function_rows(
        [FunctionStatus("b", 5, 2, 1), FunctionStatus("a", 1, 0, 0)],
        [PriorityStatus("b", 1, 1, 1, 1)],
        {"b": "app.b"}.get,
    )
    assert [row.function for row in rows] == ["a", "b"]
    first, second = rows
    assert (first.normal, first.waiting, first.job) == (1, 1, None)  # missing from prioritystatus
    assert (second.high, second.normal, second.low, second.waiting) == (1, 1, 1, 3)
    assert (second.total, second.running, second.workers, second.job) == (5, 2, 1, "app.b")


def test_a_dead_server_is_a_snapshot_not_an_exception() -> None:
    address = f"127.0.0.1:{free_port()}"
    snapshot = take_snapshot([address, address], 1.0, job_of=lambda _: None)
    assert [s.up for s in snapshot.servers] == [False, False]
    assert all(0 < len(s.reason) <= 200 for s in snapshot.servers)
    assert snapshot.servers_up == 0


def test_chart_bars_are_proportional_and_texts_escaped() -> None:
    svg = str(render_bars([Bar("<x>", 8, 2), Bar("b", 0, 0), Bar("c", 4, 0)], title="t & <u>"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<x>" not in svg and "&lt;x&gt;" in svg and "t &amp; &lt;u&gt;" in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]
    assert heights[0] == pytest.approx(4 * heights[1])  # 8 successful vs 2 failed
    assert heights[0] == pytest.approx(2 * heights[2])  # 8 vs 4
    assert "<desc>12 successful and 2 failed jobs</desc>" in svg


def test_metrics_text_is_well_formed_and_escapes_labels() -> None:
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    snapshot = StatusSnapshot(
        taken_at=dt.datetime.now(dt.UTC),
        servers=(ServerSnapshot('host"1:4730', up=False, reason="refused"),),
    )
    text = render_metrics(snapshot, None)
    assert 'gearman_server_up{server="host\\"1:4730"} 0' in text
    for line in text.splitlines():
        assert line.startswith("# ") or SAMPLE.fullmatch(line), line


def test_record_metrics_count_statuses_and_bucket_durations(site_database: ConsoleSite) -> None:
    runs = [(0.004, "SUCCESSFUL"), (0.7, "SUCCESSFUL"), (42.0, "FAILED")]
    found = site_database.call("probes", f"record_metrics({runs!r}, ready=1)")
    assert found["by_status"] == [
        ["app.job", "FAILED", 1],
        ["app.job", "READY", 1],
        ["app.job", "SUCCESSFUL", 2],
    ]
    [[job, cumulative, count, total]] = found["durations"]
    expected = [sum(s <= b for s, _ in runs) for b in DURATION_BUCKETS]
    assert (job, cumulative, count) == ("app.job", expected, 3)
    assert total == pytest.approx(42.704, abs=1e-3)  # SQLite's julianday(): about 0.1 ms
    text = found["text"]
    assert 'gearman_job_records{job="app.job",status="ready"} 1' in text
    assert 'gearman_job_duration_seconds_bucket{job="app.job",le="+Inf"} 3' in text
    assert 'gearman_job_duration_seconds_bucket{job="app.job",le="1.0"} 2' in text
    for line in text.splitlines():
        assert line.startswith("# ") or SAMPLE.fullmatch(line), line


def test_activity_counts_the_window_per_minute_and_the_oldest_waiting_job(
    site_database: ConsoleSite,
) -> None:
    records = [
        ("SUCCESSFUL", 0, "q"),
        ("FAILED", 0, "q"),
        ("SUCCESSFUL", 3, "q"),
        ("SUCCESSFUL", 16, "q"),  # outside a 15 minute window
        ("READY", None, "q"),
        ("READY", None, ""),
    ]
    found = site_database.call("probes", f"activity({records!r}, window=15)")
    bars = found["bars"]
    assert len(bars) == 15
    assert bars[-1][1:] == [1, 1] and bars[-4][1:] == [1, 0]
    assert sum(bar[1] + bar[2] for bar in bars) == 3
    assert (found["successful"], found["failed"]) == (2, 1)
    assert found["failure_percent"] == pytest.approx(100 / 3)
    assert sorted(found["queues"]) == [["(no queue)", 1, "30 min 0 s"], ["q", 1, "30 min 0 s"]]


def test_age_formatting() -> None:
    assert [format_age(s) for s in (5, 65, 3700, 90000)] == [
        "5 s",
        "1 min 5 s",
        "1 h 1 min",
        "1 d 1 h",
    ]


def test_sensitive_arguments_are_hidden_by_name_and_position() -> None:
    def job(user: str, password: str, *, token: str = "") -> None: ...

    call = {"args": ["ann", "secret"], "kwargs": {"token": "t0k"}}
    value, hidden = hide_sensitive(call, ("password", "token"), job)
    assert value == {"args": ["ann", HIDDEN], "kwargs": {"token": HIDDEN}}
    assert set(hidden) == {"password", "token"}
    assert call["args"] == ["ann", "secret"]  # the original is not changed
    assert hide_sensitive("not a call", ("password",), job) == (HIDDEN, ("password",))
    assert hide_sensitive(call, (), job) == (call, ())


def test_sensitive_names_must_be_parameters_of_the_job() -> None:
    from django_gearman import ConfigurationError
    from django_gearman.declaration import GearmanJob

    def login(user: str, password: str) -> None: ...

    assert GearmanJob(login, "t.login", sensitive=("password",)).sensitive == ("password",)
    with pytest.raises(ConfigurationError, match=r"sensitive names no parameter \['pasword'\]"):
        GearmanJob(login, "t.login", sensitive=("pasword",))
    with pytest.raises(ConfigurationError, match="list of parameter names"):
        GearmanJob(login, "t.login", sensitive="password")  # type: ignore[arg-type]
