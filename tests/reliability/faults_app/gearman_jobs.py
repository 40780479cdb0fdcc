"""Jobs of the fault and load tests. Each writes to a sqlite ledger (see ``ledger.py``) whose
path the test passes in, so that the test can see every run, in any worker process."""

from __future__ import annotations

import os
import time

from django_gearman import gearman_job
from tests.reliability import ledger

MAX_HOLD = 30.0


@gearman_job(name="rel.record")
def record(
    key: str,
    ledger_path: str,
    hold_first: float = 0.0,
    pause: float = 0.0,
    linger: float = 0.0,
    release: str = "",
) -> dict:
    """Log the run; the first run of a key may hold (so a test can kill it mid-job) until
    ``hold_first`` seconds pass or the file ``release`` exists.

    Every run spends ``pause`` before its work is done and ``linger`` after (as a job that
    cleans up before returning): a random kill then lands mid-job often enough to be seen, and
    a kill during ``linger`` shows Gearman's at-least-once duplicate.
    """
    attempt = ledger.write(ledger_path, key, "start")
    if hold_first and attempt == 1:
        deadline = time.monotonic() + min(hold_first, MAX_HOLD)
        while time.monotonic() < deadline and not (release and os.path.exists(release)):
            time.sleep(0.02)
    if pause:
        time.sleep(min(pause, MAX_HOLD))
    ledger.write(ledger_path, key, "done")
    if linger:
        time.sleep(min(linger, MAX_HOLD))
    return {"key": key, "pid": os.getpid(), "attempt": attempt}


@gearman_job(name="rel.always_die")
def always_die(key: str, ledger_path: str) -> None:
    """Kills its own worker process on every run, as a segfault in a C extension would."""
    ledger.write(ledger_path, key, "start")
    os._exit(3)


@gearman_job(name="rel.ping")
def ping() -> int:
    """The worker process's pid: proves which process served a job, and that it serves."""
    return os.getpid()
