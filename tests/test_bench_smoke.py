"""The benchmark's smoke mode runs end to end against real gearmand and worker processes, and
writes every table and plot. No timing is asserted: only that each implementation was measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TABLES = (
    "codecs",
    "envelope",
    "django_stack",
    "foreground",
    "foreground_cpu",
    "latency",
    "background",
    "background_batched",
    "drain",
    "concurrency-pairs",
    "concurrency-shared",
    "stored_dispatch",
    "stored_drain",
    "stored_writes",
    "targets",
)
PLOTS = (
    "codecs.png",
    "foreground.png",
    "latency.png",
    "background.png",
    "concurrency-pairs.png",
    "concurrency-shared.png",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("bench-smoke")
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out, completed.stdout


def test_every_table_is_written_and_printed(smoke_run: tuple[Path, str]) -> None:
    out, stdout = smoke_run
    summary = (out / "README.md").read_text()
    for key in TABLES:
        table = (out / f"{key}.md").read_text()
        title = table.splitlines()[0]
        assert title.startswith("### ")
        assert title in summary
        assert "|---|" in table
    assert "### Machine" in summary and "nproc" in summary and "gearmand" in summary
    assert "### 2. Foreground round trips/s" in stdout


def test_every_plot_is_a_png(smoke_run: tuple[Path, str]) -> None:
    out, _ = smoke_run
    for name in PLOTS:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC), name
        assert len(data) > 5_000, name


def test_every_implementation_was_measured_without_problems(smoke_run: tuple[Path, str]) -> None:
    out, _ = smoke_run
    results = json.loads((out / "results.json").read_text())
    assert results["problems"] == []
    metrics = results["metrics"]
    expected = [
        *(f"foreground.{k}" for k in ("raw", "ours", "django", "pygearman", "c")),
        *(f"background.{k}" for k in ("raw", "ours", "django", "pygearman", "c")),
        *(f"background_batched.{k}" for k in ("raw", "ours", "pygearman")),
        *(f"drain.{k}" for k in ("raw", "ours", "pygearman", "c", "django_w1", "django_w2")),
        "latency.ours.p50_us",
        *(
            f"stored_drain.{k} ({db})"
            for k in ("unstored", "stored")
            for db in ("SQLite", "PostgreSQL")
        ),
        "stored_writes.PostgreSQL",
        "envelope.small.envelope json.added_us",
        "envelope.small.envelope json.own_us",
        "codec.small.json serializer (orjson + checks).us",
    ]
    for name in expected:
        assert name in metrics, name
        assert metrics[name] > 0, name
    assert any(name.startswith("inflight.pairs.async_tasks.") for name in metrics)


def test_every_target_gets_a_verdict(smoke_run: tuple[Path, str]) -> None:
    out, stdout = smoke_run
    targets = json.loads((out / "results.json").read_text())["targets"]
    assert len(targets) >= 11
    for target in targets:
        assert target["verdict"] in ("PASS", "MISS"), target
        assert f"{target['verdict']:4}  {target['name']}" in stdout


# The building blocks the tables rest on.


def test_percentile_is_nearest_rank() -> None:
    from bench.measure import percentile

    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([], 0.5) == 0.0


def test_ratios_pair_the_rounds_and_fall_back_to_medians() -> None:
    from bench.report import Report

    report = Report()
    report.series = {"a": [10.0, 40.0, 90.0], "b": [5.0, 10.0, 30.0]}
    assert report.ratio("a", "b") == 3.0  # median of 2, 4, 3
    report.metrics = {"c": 6.0, "d": 4.0}
    assert report.ratio("c", "d") == 1.5
    assert report.ratio("c", "missing") is None


def test_target_verdicts() -> None:
    from bench.report import TargetCheck

    assert TargetCheck("x", 0.95, 0.9, "x").verdict == "PASS"
    assert TargetCheck("x", 0.85, 0.9, "x").verdict == "MISS"
    assert TargetCheck("x", 2.5, 2.0, " us", higher_is_better=False).verdict == "MISS"
    assert TargetCheck("x", None, 2.0, " us").verdict == "N/A"


def test_raw_packets_are_gearman_requests(gearmand) -> None:
    from bench.admin import AdminConnection
    from bench.wire import SUBMIT_JOB_BG, RawClient, request

    assert request(SUBMIT_JOB_BG, b"fn", b"", b"data") == (
        b"\0REQ" + (18).to_bytes(4, "big") + (8).to_bytes(4, "big") + b"fn\0\0data"
    )
    client = RawClient(gearmand.address, "bench.queued")
    try:
        assert client.submit_background_many([b"x"] * 25) == 25
    finally:
        client.close()
    with AdminConnection(gearmand.address) as admin:
        status = admin.function("bench.queued")
    assert (status.queued, status.running, status.workers) == (25, 0, 0)
