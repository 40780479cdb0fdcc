"""Three real gearmand servers behind one client list and one ``gearman_worker``.

The placement rule (docs/deploy.md): a job with a unique id starts at server
``crc32(unique) % len(servers)``, so identical submissions meet on one server and coalesce; a
background job without one gets a random id and so lands anywhere; the worker serves all servers.
The kill test makes "accepted" checkable: a foreground job is accepted when its result came back,
a background job when gearmand answered JOB_CREATED, and every server persists background jobs
(libsqlite3), so a SIGKILLed server still runs its accepted jobs after a restart.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from django_gearman import GearmanClient
from django_gearman.protocol import AdminClient, GearmanError, OutcomeUnknown
from tests.reliability import ledger
from tests.reliability.support import WorkerProcess, wait_until
from tests.support.gearmand import Gearmand

RECORD = "rel.record"
SERVERS = 3
CLIENT_THREADS = 2
BACKGROUND_PAUSE = 0.1  # seconds each background job takes, so many still wait at the kill
BACKLOG = 90  # background jobs queued before the workers start (4.5 s of their time)


def home(unique: str, servers: int = SERVERS) -> int:
    """The documented placement rule, written here independently of the client's code."""
    return zlib.crc32(unique.encode()) % servers


def queued(server: Gearmand, function: str) -> int:
    with AdminClient(server.address, timeout=5.0) as admin:
        return sum(s.queued for s in admin.status() if s.function == function)


def test_unique_jobs_land_on_their_home_server_and_coalesce_others_spread_over_all(
    gearmand_factory: Callable[..., Gearmand],
    ledger_path: Path,
    client: Callable[..., GearmanClient],
) -> None:
    servers = [gearmand_factory() for _ in range(SERVERS)]
    gearman = client([s.address for s in servers])
    keys = [f"order-{n}" for n in range(30)]
    for key in keys:
        gearman.submit_job(
            RECORD, key=key, ledger_path=str(ledger_path), background=True, unique=key
        )
    expected = [sum(1 for key in keys if home(key) == index) for index in range(SERVERS)]
    assert [queued(s, RECORD) for s in servers] == expected
    assert all(expected), expected  # the 30 ids happen to use every server: the rule is visible
    for key in keys:  # the same ids again: each meets its queued twin on the same server
        gearman.submit_job(
            RECORD, key=key, ledger_path=str(ledger_path), background=True, unique=key
        )
    assert [queued(s, RECORD) for s in servers] == expected
    for n in range(60):  # no unique id: each job gets a random one and lands anywhere
        gearman.submit_job(RECORD, key=f"any-{n}", ledger_path=str(ledger_path), background=True)
    spread = [queued(s, RECORD) - before for s, before in zip(servers, expected, strict=True)]
    assert sum(spread) == 60
    assert all(spread), spread


class Stream:
    """Client threads submitting foreground and background jobs until told to stop; every
    outcome is kept with the time its submission started."""

    def __init__(self, gearman: GearmanClient, ledger_path: Path) -> None:
        self.gearman = gearman
        self.ledger_path = str(ledger_path)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.accepted: dict[str, float] = {}  # background key -> submission start
        self.completed: dict[str, float] = {}  # foreground key -> submission start
        self.failures: dict[str, BaseException] = {}
        self.threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True)
            for n in range(CLIENT_THREADS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _run(self, thread: int) -> None:
        for n in range(2_000):
            if self.stop.is_set():
                return
            key = f"t{thread}-{n}"
            if n % 4:
                self.background(key)
            else:
                self.foreground(key)

    def background(self, key: str) -> None:
        """Low priority and slow: a backlog builds on every server."""
        began = time.monotonic()
        try:
            self.gearman.submit_job(
                RECORD,
                key=key,
                ledger_path=self.ledger_path,
                pause=BACKGROUND_PAUSE,
                background=True,
                unique=key,
                priority="low",
            )
        except GearmanError as exc:
            with self.lock:
                self.failures[key] = exc
        else:
            with self.lock:
                self.accepted[key] = began

    def foreground(self, key: str) -> None:
        began = time.monotonic()
        try:
            result = self.gearman.submit_job(
                RECORD, key=key, ledger_path=self.ledger_path, poll_timeout=30
            )
        except GearmanError as exc:
            with self.lock:
                self.failures[key] = exc
        else:
            assert result["key"] == key
            with self.lock:
                self.completed[key] = began

    def count_after(self, moment: float) -> int:
        with self.lock:
            return sum(1 for began in self.completed.values() if began > moment)

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
            assert not thread.is_alive(), "a client thread did not finish"


def busiest(stream: Stream, ledger_path: Path) -> int:
    """The server with the most accepted jobs not yet run: killing it tests the most."""
    done = set(ledger.counts(ledger_path, "done"))
    with stream.lock:
        waiting = [home(key) for key in stream.accepted if key not in done]
    return max(range(SERVERS), key=waiting.count)


def test_one_of_three_servers_killed_mid_run_loses_no_accepted_job_and_the_others_carry_on(
    gearmand_factory: Callable[..., Gearmand],
    tmp_path: Path,
    ledger_path: Path,
    worker_process: Callable[..., WorkerProcess],
    client: Callable[..., GearmanClient],
) -> None:
    servers = [gearmand_factory(sqlite_db=tmp_path / f"queue-{n}.db") for n in range(SERVERS)]
    stream = Stream(client([s.address for s in servers]), ledger_path)
    for n in range(BACKLOG):  # queued before any worker runs: each server has its share waiting
        stream.background(f"backlog-{n}")
    worker_process([s.address for s in servers], "-w", "2", count=2)
    stream.start()
    wait_until(lambda: len(stream.accepted) >= BACKLOG + 6, 60, "submissions before the kill")
    killed = busiest(stream, ledger_path)
    servers[killed].kill()
    killed_at = time.monotonic()
    with stream.lock:
        on_killed = {key for key, began in stream.accepted.items() if home(key) == killed}
    not_run_at_kill = on_killed - set(ledger.counts(ledger_path, "done"))
    wait_until(lambda: stream.count_after(killed_at) >= 30, 60, "foreground jobs after the kill")
    stream.join()

    # Only a job in flight on the killed server may fail, and only as OutcomeUnknown.
    assert all(isinstance(e, OutcomeUnknown) for e in stream.failures.values()), stream.failures
    assert len(stream.failures) <= CLIENT_THREADS, stream.failures
    done = ledger.counts(ledger_path, "done")
    assert set(stream.completed) <= set(done)
    # The two survivors run every accepted job that was not waiting on the dead server.
    elsewhere = {
        key for key, began in stream.accepted.items() if home(key) != killed or began > killed_at
    }
    wait_until(
        lambda: elsewhere <= set(ledger.counts(ledger_path, "done")),
        60,
        "the accepted jobs of the other servers to run while one is down",
    )
    assert len(not_run_at_kill) >= 10, "too few accepted jobs waited on the killed server"
    servers[killed].start()  # same port, same sqlite queue
    wait_until(
        lambda: set(stream.accepted) <= set(ledger.counts(ledger_path, "done")),
        60,
        "every accepted job to run once the killed server is back",
    )
