"""The peers benchmark's smoke mode runs end to end: a private gearmand and redis-server, real
worker processes of every peer, every table and plot written. No timing is asserted: only that
every peer was measured and appears in every table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.peers.peers import PEERS

REPO_ROOT = Path(__file__).resolve().parent.parent
PEER_TABLES = ("configuration", "roundtrip", "enqueue", "drain", "inflight", "startup")
PLOTS = ("peers.png", "peers-latency.png", "scale-out.png")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One smoke run for the module: its output folder and what it printed."""
    out = tmp_path_factory.mktemp("bench-peers-smoke")
    command = [sys.executable, "-m", "bench.peers", "--smoke", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout


def test_every_peer_is_in_every_table(smoke_run: tuple[Path, str]) -> None:
    out, stdout = smoke_run
    summary = (out / "README.md").read_text()
    problems = json.loads((out / "results.json").read_text())["problems"]
    for key in (*PEER_TABLES, "scale-out", "targets"):
        table = (out / f"{key}.md").read_text()
        assert table.startswith("### ") and "|---|" in table, key
        assert table.splitlines()[0] in summary, key
        assert table.splitlines()[0] in stdout, key
        if key in PEER_TABLES:
            rows = [line for line in table.splitlines() if line.startswith("| ")]
            for peer in PEERS:
                found = any(row.startswith(f"| {peer.label} |") for row in rows)
                assert found, (key, peer.key, problems)
    assert "### Machine" in summary and "redis-server" in summary


def test_every_peer_was_measured_without_problems(smoke_run: tuple[Path, str]) -> None:
    out, _ = smoke_run
    results = json.loads((out / "results.json").read_text())
    assert results["problems"] == []
    metrics = results["metrics"]
    for peer in PEERS:
        for name in ("roundtrip", "enqueue", "drain1", "inflight", "startup1"):
            assert metrics.get(f"{name}.{peer.key}", 0) > 0, (name, peer.key)
        assert metrics[f"roundtrip.{peer.key}.p99_us"] >= metrics[f"roundtrip.{peer.key}.p50_us"]
    for servers in (1, 3):
        assert metrics[f"scaleout.enqueue.{servers}"] > 0
        assert metrics[f"scaleout.drain.{servers}"] > 0


def test_every_plot_is_a_png(smoke_run: tuple[Path, str]) -> None:
    out, _ = smoke_run
    for name in PLOTS:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000, name


def test_every_target_is_printed_with_a_verdict(smoke_run: tuple[Path, str]) -> None:
    out, stdout = smoke_run
    found = json.loads((out / "results.json").read_text())["targets"]
    assert len(found) == 6
    for target in found:
        assert f"| {target['name']} |" in stdout and target["verdict"] in stdout
    measurable = [t for t in found if t["name"].startswith("no stored results")]
    assert all(t["verdict"] in ("PASS", "MISS") for t in measurable), measurable


def test_the_fastest_row_of_a_family_is_the_one_compared() -> None:
    from bench.peers.targets import best_of
    from bench.report import Report

    report = Report(metrics={"roundtrip.celery-prefork": 200.0, "roundtrip.celery-solo": 300.0})
    assert best_of(report, PEERS, "celery", "roundtrip") == "celery-solo"
    assert best_of(report, PEERS, "rq", "roundtrip") is None
