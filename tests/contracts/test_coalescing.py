"""``unique="auto"``: calls that mean the same share one execution on real gearmand.

Four clients (own connections, own threads) call ``contracts.coalesced`` with the same arguments
written four ways. The job (one worker process) reports progress until the test releases it, and
the test releases it only once every caller has received a progress report, i.e. is attached to
that one running job; a caller with its own job would wait behind it and never get one.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from django_gearman import GearmanClient
from django_gearman.calls import job_spec
from django_gearman.coalescing import CannotCanonicalize, auto_unique, call_unique
from django_gearman.protocol import MAX_UNIQUE_SIZE, AdminClient
from tests.contracts.contract_jobs.gearman_jobs import coalesced
from tests.django.support import WorkerProcess, wait_until
from tests.support.gearmand import Gearmand

JOB = "contracts.coalesced"
CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (({"a": 1, "b": 2}, 1), {}),
    (({"b": 2, "a": 1}, 1.0), {}),  # key order, 1 vs 1.0
    ((), {"ratio": "1", "options": {"a": 1, "b": 2}}),  # by keyword, "1" validated to 1.0
    (({"b": 2, "a": 1},), {"ratio": Decimal("1.00"), "label": "x"}),  # the default, written out
]


@pytest.fixture
def job_files(tmp_path: Path) -> dict[str, str]:
    return {
        "TEST_CONTRACTS_RUNS": str(tmp_path / "runs.log"),
        "TEST_CONTRACTS_RELEASE": str(tmp_path / "release"),
    }


def runs(job_files: dict[str, str]) -> list[str]:
    path = Path(job_files["TEST_CONTRACTS_RUNS"])
    return path.read_text().splitlines() if path.exists() else []


def test_concurrent_equal_foreground_calls_share_one_execution(
    live: Gearmand, contract_worker: Callable[..., WorkerProcess], job_files: dict[str, str]
) -> None:
    contract_worker("-w", "1", wait_for=JOB, env=job_files)
    attached = [threading.Event() for _ in CALLS]
    results: list[Any] = [None] * len(CALLS)

    def call(index: int) -> None:
        args, kwargs = CALLS[index]
        job = coalesced.using(
            unique="auto",
            client=GearmanClient([live.address]),
            on_status=lambda done, total: attached[index].set(),
            timeout=120,
        )
        try:
            results[index] = job.submit(*args, **kwargs)
        except Exception as exc:  # reported below, with the other results
            results[index] = exc

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(len(CALLS))]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: all(e.is_set() for e in attached), 60, "every caller attached")
    finally:
        Path(job_files["TEST_CONTRACTS_RELEASE"]).touch()
        for thread in threads:
            thread.join(60)
    assert results == [3, 3, 3, 3]
    assert len(runs(job_files)) == 1, runs(job_files)


def test_different_arguments_run_separately(
    live: Gearmand, contract_worker: Callable[..., WorkerProcess], job_files: dict[str, str]
) -> None:
    Path(job_files["TEST_CONTRACTS_RELEASE"]).touch()
    contract_worker("-w", "1", wait_for=JOB, env=job_files)
    job = coalesced.using(unique="auto", client=GearmanClient([live.address]))
    assert job.submit({"a": 1}, 1) == 1
    assert job.submit({"a": 1}, 1, label="y") == 1
    assert len(runs(job_files)) == 2


def test_equal_background_jobs_queue_once(
    live: Gearmand, contract_worker: Callable[..., WorkerProcess], job_files: dict[str, str]
) -> None:
    client = GearmanClient([live.address])
    handles = {
        coalesced.using(unique="auto", client=client).dispatch(*args, **kwargs)
        for args, kwargs in CALLS
    }
    assert len(handles) == 1  # gearmand answered every submission with the one job's handle
    with AdminClient(live.address) as admin:
        queued = {s.function: s.queued for s in admin.status()}
    assert queued[JOB] == 1
    Path(job_files["TEST_CONTRACTS_RELEASE"]).touch()
    contract_worker("-w", "1", wait_for=JOB, env=job_files)
    wait_until(lambda: len(runs(job_files)) == 1, 60, "the queued job to run")
    with AdminClient(live.address) as admin:
        wait_until(
            lambda: {s.function: s.queued for s in admin.status()}.get(JOB) == 0, 30, "drain"
        )
    assert len(runs(job_files)) == 1


class Point(BaseModel):
    x: int
    y: int


def _id(*args: Any, **kwargs: Any) -> str:
    return auto_unique("f", "f@1", None, args, kwargs)


def test_canonical_rules() -> None:
    def job(p: Point, when: dt.datetime, tags: set[str], n: float = 1.5) -> None: ...

    def unique(*args: Any, **kwargs: Any) -> str:
        return auto_unique("f", None, job, args, kwargs)

    utc = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    plus_one = dt.datetime(2026, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    same = unique(Point(x=1, y=2), utc, {"a", "b"})
    assert same == unique(p=Point(y=2, x=1), when=plus_one, tags={"b", "a"}, n=1.5)
    assert same != unique(Point(x=1, y=2), utc, {"a", "b"}, 2.5)
    assert same != unique(Point(x=1, y=2), utc.replace(tzinfo=None), {"a", "b"})
    assert same.startswith("auto-") and len(same) <= MAX_UNIQUE_SIZE
    assert _id(1) == _id(1.0) == _id(Decimal("1.000")) != _id(True)
    assert _id(0.1) != _id(Decimal("0.1"))  # the double 0.1 is not exactly one tenth
    assert _id([1, 2]) == _id((1, 2)) != _id([2, 1])
    assert _id("é") != _id("e\u0301")  # no Unicode normalization
    assert _id(uuid.UUID(int=5)) == _id(uuid.UUID(int=5)) != _id(str(uuid.UUID(int=5)))
    assert _id({1: "a", "1": "b"}) != _id({"1": "a", 1: "b"})
    assert auto_unique("f", "f@1", None, (1,), {}) != auto_unique("f", "f@2", None, (1,), {})
    assert auto_unique("f", None, None, (1,), {}) != auto_unique("g", None, None, (1,), {})
    with pytest.raises(CannotCanonicalize, match="object"):
        _id(object())


def test_auto_uses_the_validated_call(eager: None) -> None:
    spec = job_spec(coalesced)
    assert call_unique(spec, ({"a": "1"}, "2"), {}) == call_unique(spec, ({"a": 1}, 2.0), {})
