"""Faults against real gearmand and real ``manage.py gearman_worker`` processes: killed workers,
restarted and killed servers, rogue servers, reconnects, and jobs that always crash."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from django_gearman import GearmanClient, JobLost
from django_gearman.protocol import (
    GearmanError,
    JobTimeout,
    NoServerAvailable,
    OutcomeUnknown,
)
from tests.reliability import ledger, support
from tests.reliability.support import (
    RogueServer,
    WorkerProcess,
    children_of,
    kill,
    wait_until,
)
from tests.support.gearmand import Gearmand

RECORD = "rel.record"
PING = "rel.ping"


class Call:
    """A job submitted from a thread: the test can kill things while the client waits."""

    def __init__(self, function: Callable[[], Any]) -> None:
        self.outcome: list[Any] = []
        self.thread = threading.Thread(target=self._run, args=(function,), daemon=True)
        self.thread.start()

    def _run(self, function: Callable[[], Any]) -> None:
        try:
            self.outcome.append(function())
        except BaseException as exc:
            self.outcome.append(exc)

    def result(self, timeout: float = 60.0) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the client call did not return in time"
        return self.outcome[0]


def first_run_pid(ledger_path: Path, key: str, timeout: float = 20.0) -> int:
    """Wait until job ``key`` has started somewhere; the pid of the process running it."""
    wait_until(lambda: bool(ledger.pids(ledger_path, key)), timeout, f"job {key} to start")
    return ledger.pids(ledger_path, key)[0]


def test_worker_killed_mid_job_job_reruns_elsewhere_and_client_gets_result(
    gearmand: Gearmand,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    supervisor = worker_process([gearmand.address], "-w", "2", count=2)
    gearman = client([gearmand.address])
    call = Call(
        lambda: gearman.submit_job(
            RECORD, key="k", ledger_path=str(ledger_path), hold_first=30.0, poll_timeout=60
        )
    )
    victim = first_run_pid(ledger_path, "k")
    assert victim in children_of(supervisor.pid)
    kill(victim, signal.SIGKILL)
    result = call.result()
    assert not isinstance(result, BaseException), result
    assert result["key"] == "k"
    assert result["attempt"] == 2
    assert result["pid"] != victim
    assert ledger.counts(ledger_path, "start")["k"] == 2
    assert ledger.counts(ledger_path, "done")["k"] == 1


def submit_background_then_restart(
    gearman: GearmanClient, server: Gearmand, ledger_path: Path, how: str, unique: Any
) -> list[str]:
    """Queue 40 background jobs with no worker running, then stop or kill and restart gearmand.

    ``unique="key"`` gives each job its key as unique id; otherwise ``unique`` is passed as is.
    """
    keys = [f"bg-{i}" for i in range(40)]
    for key in keys:
        handle = gearman.submit_job(
            RECORD,
            key=key,
            ledger_path=str(ledger_path),
            background=True,
            unique=key if unique == "key" else unique,
        )
        assert handle, "accepted: gearmand answered JOB_CREATED with a handle"
    server.stop() if how == "stop" else server.kill()
    server.start()
    return keys


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_persistent_queue_every_accepted_background_job_runs_after_restart(
    how: str,
    gearmand_factory: Callable[..., Gearmand],
    tmp_path: Path,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    """With a short unique id per job, gearmand's libsqlite3 queue keeps every job."""
    server = gearmand_factory(sqlite_db=tmp_path / "q.db")
    keys = submit_background_then_restart(client([server.address]), server, ledger_path, how, "key")
    worker_process([server.address])
    wait_until(
        lambda: set(ledger.counts(ledger_path, "done")) >= set(keys),
        60,
        "every accepted background job to run after the restart",
    )
    assert set(ledger.counts(ledger_path, "done")) == set(keys)


@pytest.mark.parametrize("unique", [None, True], ids=["no-unique", "unique-true"])
def test_persistent_queue_keeps_background_jobs_of_default_unique_settings(
    unique: Any,
    gearmand_factory: Callable[..., Gearmand],
    tmp_path: Path,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    """Found broken here, fixed in the client: without a unique id gearmand's libsqlite3 queue
    kept only the last job of a function; a 64-character ``unique=True`` digest was cut to 63
    bytes by gearmand and came back from the queue as a payload starting with NUL."""
    server = gearmand_factory(sqlite_db=tmp_path / "q.db")
    gearman = client([server.address])
    keys = submit_background_then_restart(gearman, server, ledger_path, "stop", unique)
    worker_process([server.address])
    with contextlib.suppress(AssertionError):  # bounded wait; the assertion below decides
        wait_until(lambda: set(ledger.counts(ledger_path, "done")) >= set(keys), 20, "the jobs")
    assert set(ledger.counts(ledger_path, "done")) == set(keys)


def test_two_servers_one_killed_mid_run_fails_over_and_loses_nothing_accepted(
    gearmand_factory: Callable[..., Gearmand],
    tmp_path: Path,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    """Both servers persist background jobs; A is SIGKILLed while a foreground job is in flight
    on it and submissions keep coming. Foreground jobs end with a result or OutcomeUnknown
    (never silence), later submissions go to B, and once A is back every accepted background
    job has run."""
    a = gearmand_factory(sqlite_db=tmp_path / "a.db")
    b = gearmand_factory(sqlite_db=tmp_path / "b.db")
    worker_process([a.address, b.address], "-w", "2", count=2)
    gearman = client([a.address, b.address])
    # A foreground job that holds its worker, pinned to A by submitting through A only.
    only_a = client([a.address])
    release = tmp_path / "release"
    in_flight = Call(
        lambda: only_a.submit_job(
            RECORD,
            key="held",
            ledger_path=str(ledger_path),
            hold_first=30.0,
            release=str(release),
            poll_timeout=60,
        )
    )
    first_run_pid(ledger_path, "held")
    accepted: list[str] = []
    foreground: dict[str, Any] = {}
    stop = threading.Event()

    def submit_stream() -> None:
        for i in range(400):
            if stop.is_set():
                return
            key = f"s-{i}"
            try:
                if i % 2:
                    gearman.submit_job(
                        RECORD, key=key, ledger_path=str(ledger_path), background=True, unique=key
                    )
                    accepted.append(key)
                else:
                    foreground[key] = gearman.submit_job(
                        RECORD, key=key, ledger_path=str(ledger_path), poll_timeout=30
                    )
            except GearmanError as exc:
                foreground[key] = exc

    stream = threading.Thread(target=submit_stream, daemon=True)
    stream.start()
    wait_until(lambda: len(accepted) >= 20, 30, "submissions before the kill")
    a.kill()
    before_kill = len(accepted)
    wait_until(lambda: len(accepted) >= before_kill + 40, 30, "submissions after the kill")
    stop.set()
    stream.join(60)
    assert not stream.is_alive()
    outcome = in_flight.result()
    assert isinstance(outcome, OutcomeUnknown), outcome
    release.touch()  # the held job may finish now (its server is gone; nobody gets the result)
    failures = {key: exc for key, exc in foreground.items() if isinstance(exc, BaseException)}
    # A foreground job may only fail as OutcomeUnknown (it was in flight on A when A died).
    assert all(isinstance(exc, OutcomeUnknown) for exc in failures.values()), failures
    assert len(failures) <= 1
    completed = {key for key, value in foreground.items() if isinstance(value, dict)}
    assert completed <= set(ledger.counts(ledger_path, "done"))
    a.start()
    wait_until(
        lambda: set(accepted) <= set(ledger.counts(ledger_path, "done")),
        60,
        "every accepted background job to run (A's after its restart)",
    )


# -- rogue servers: a typed error, never a hang ---------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (support.close_at_once, NoServerAvailable),
        (support.never_answer, NoServerAvailable),
        (support.answer_garbage, NoServerAvailable),
        (support.announce_huge_packet, NoServerAvailable),
        (support.stall_mid_packet, NoServerAvailable),
        (support.close_after_submit, OutcomeUnknown),
        (support.truncated_job_created, OutcomeUnknown),
        (support.silent_after_submit, JobTimeout),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_rogue_server_gives_a_typed_error_within_the_timeout(
    behaviour: support.Behaviour, error: type[GearmanError]
) -> None:
    with (
        RogueServer(behaviour) as rogue,
        override_settings(GEARMAN_CONNECT_TIMEOUT=0.5, GEARMAN_TIMEOUT=2.0),
        GearmanClient([rogue.address]) as gearman,
    ):
        call = Call(lambda: gearman.submit_job(PING))
        outcome = call.result(timeout=15)
    assert isinstance(outcome, error), repr(outcome)
    assert rogue.address in str(outcome), "the error names the server"
    assert rogue.connections >= 1


@pytest.mark.parametrize(
    "behaviour",
    [
        support.close_at_once,
        support.never_answer,
        support.answer_garbage,
        support.announce_huge_packet,
        support.stall_mid_packet,
        support.assign_malformed_job,
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_worker_keeps_serving_the_good_server_next_to_a_rogue_one(
    behaviour: support.Behaviour,
    gearmand: Gearmand,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    with RogueServer(behaviour) as rogue:
        supervisor = worker_process(
            [rogue.address, gearmand.address], registered_on=[gearmand.address]
        )
        (child,) = children_of(supervisor.pid)
        gearman = client([gearmand.address])
        for _ in range(3):
            assert gearman.submit_job(PING, poll_timeout=10) == child
        assert children_of(supervisor.pid) == [child], "the worker process never restarted"


def test_worker_process_reconnects_after_its_server_comes_back(
    gearmand: Gearmand,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    supervisor = worker_process([gearmand.address])
    gearman = client([gearmand.address])
    served_by = gearman.submit_job(PING, poll_timeout=10)
    gearmand.kill()
    gearmand.start()
    assert gearman.submit_job(PING, poll_timeout=20) == served_by
    assert children_of(supervisor.pid) == [served_by], "reconnected, not restarted"


def test_job_that_always_kills_its_worker_is_stopped_by_job_retries(
    gearmand_factory: Callable[..., Gearmand],
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    server = gearmand_factory(extra_args=["--job-retries=2"])
    worker_process([server.address])
    gearman = client([server.address])
    with pytest.raises(JobLost):
        gearman.submit_job("rel.always_die", key="doomed", ledger_path=str(ledger_path))
    runs = ledger.counts(ledger_path, "start")["doomed"]
    assert runs == 2, f"--job-retries=2 bounds the runs; saw {runs}"
    # The supervisor replaced the dead worker: the next job is served.
    assert isinstance(gearman.submit_job(PING, poll_timeout=30), int)


def test_outcome_unknown_is_never_resubmitted_even_with_max_retries(
    gearmand: Gearmand,
    tmp_path: Path,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    """max_retries re-submits WORK_FAIL only: a job that may have run is left to the caller."""
    worker_process([gearmand.address])
    gearman = client([gearmand.address])
    release = tmp_path / "release"
    call = Call(
        lambda: gearman.submit_job(
            RECORD,
            key="once",
            ledger_path=str(ledger_path),
            hold_first=30.0,
            release=str(release),
            max_retries=3,
            poll_timeout=60,
        )
    )
    first_run_pid(ledger_path, "once")
    gearmand.kill()
    outcome = call.result()
    assert isinstance(outcome, OutcomeUnknown), outcome
    release.touch()
    gearmand.start()
    assert isinstance(gearman.submit_job(PING, poll_timeout=20), int)
    assert ledger.counts(ledger_path, "start")["once"] == 1
