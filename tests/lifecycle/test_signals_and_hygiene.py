"""Signals where each event happens (``job_enqueued`` in the client, ``job_started`` and
``job_finished`` in the worker process), and Django's connection hygiene around every job."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.test import override_settings

from django_gearman.results import StoredResult
from django_gearman.signals import job_enqueued
from tests.django.support import wait_until
from tests.lifecycle.store_jobs import gearman_jobs as jobs
from tests.lifecycle.store_support import StoreDatabase, start_worker
from tests.support.gearmand import Gearmand

WAIT = 30.0


def test_job_enqueued_is_sent_by_the_client(gearman_servers: str, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append({"sender": sender, **kwargs})

    job_enqueued.connect(receiver)
    try:
        stored = jobs.stored_add.dispatch(1, 2)
        handle = jobs.unstored_mark.dispatch(str(tmp_path / "mark"))
    finally:
        job_enqueued.disconnect(receiver)
    assert [event["sender"] for event in seen] == [jobs.stored_add, jobs.unstored_mark]
    assert isinstance(seen[0]["result"], StoredResult) and seen[0]["result"].id == stored.id
    assert seen[0]["handle"].startswith("H:")
    assert seen[1]["result"] is None and seen[1]["handle"] == handle


def test_started_and_finished_are_sent_in_the_worker(
    gearman_servers: str, signals_log: Path
) -> None:
    result = jobs.stored_add.dispatch(5, 6).wait(WAIT)

    def events() -> list[dict[str, Any]]:
        if not signals_log.exists():
            return []
        lines = signals_log.read_text().splitlines()
        return [event for event in map(json.loads, lines) if event["job_id"] == result.id]

    wait_until(lambda: len(events()) == 2, WAIT, "both worker signals")
    started, finished = events()
    assert started["event"] == "started" and finished["event"] == "finished"
    assert finished["status"] == "SUCCESSFUL"
    assert started["pid"] == finished["pid"] != os.getpid()
    assert result.worker.endswith(f":{started['pid']}")


def test_a_job_that_breaks_its_connection_does_not_poison_the_next(
    gearmand: Gearmand, store_database: StoreDatabase
) -> None:
    worker = start_worker(gearmand.address, store_database, "-w", "1", wait_for="count_records")
    try:
        with override_settings(GEARMAN_SERVERS=[gearmand.address]):
            broken = jobs.breaks_its_connection.dispatch().wait(WAIT)
            after = [jobs.count_records.dispatch().wait(WAIT) for _ in range(3)]
    finally:
        worker.stop()
    assert broken.status == "FAILED"
    assert broken.errors[-1].type.endswith(("OperationalError", "ProgrammingError"))
    assert [result.status for result in after] == ["SUCCESSFUL"] * 3
    assert all(result.return_value > 0 for result in after)
    assert {result.worker for result in after} == {broken.worker}  # one process ran them all
