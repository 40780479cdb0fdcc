"""Supervisor restart backoff (the transport's ``Backoff``): grows with quick crashes, starts
afresh after a long run."""

import time

from django_gearman.supervisor import (
    HEALTHY_UPTIME_SECONDS,
    RESTART_BACKOFF_MIN,
    Supervisor,
    _Slot,
)

CRASH_STATUS = 1 << 8  # a wait status for "exited with status 1"


def _crash(slot: _Slot, uptime: float) -> float:
    slot.started_at = time.monotonic() - uptime
    Supervisor(jobs=[])._after_exit(slot, CRASH_STATUS)
    return slot.start_after - time.monotonic()


def test_quick_crashes_double_the_backoff() -> None:
    slot = _Slot(0)
    waits = [_crash(slot, uptime=0.5) for _ in range(3)]
    assert slot.backoff.failures == 3
    assert waits[1] > waits[0] * 1.5
    assert waits[2] > waits[1] * 1.5


def test_a_crash_after_a_long_healthy_run_starts_a_fresh_backoff() -> None:
    slot = _Slot(0)
    for _ in range(6):
        _crash(slot, uptime=0.5)
    wait = _crash(slot, uptime=HEALTHY_UPTIME_SECONDS + 1)
    assert slot.backoff.failures == 1
    assert wait <= RESTART_BACKOFF_MIN
