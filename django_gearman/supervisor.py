"""The process supervisor behind ``manage.py gearman_worker``: a parent keeping N children alive.

The parent forks the children, restarts one that crashed (exponential backoff per slot, and a cap
on restarts per minute overall, so a job that kills its worker cannot fork-bomb the machine) and
replaces one that exited after ``--max-jobs``. Signals: the first SIGTERM/SIGINT asks every child
to finish its current job and exit; a second one kills them at once. What a child does is in
``serving``.

The parent builds every served job's spec (``calls.job_spec``: serializers, policies and pydantic
schemas) before the first fork, so every child, and every restart after a crash or
``--max-jobs``, starts with them already built, shared copy-on-write, and a job whose spec cannot
be built stops the command at once instead of crashing every child it starts. A child whose
settings change (``override_settings`` in a test) still drops and rebuilds its specs
(``calls.on_settings_reset``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from .calls import job_spec
from .declaration import GearmanJob
from .protocol import Backoff
from .serving import STOP_GRACE_SECONDS, run_child

log = logging.getLogger("django_gearman.worker")

RESTART_BACKOFF_MIN = 0.1
RESTART_BACKOFF_MAX = 10.0
RESTARTS_PER_MINUTE_PER_CHILD = 10
HEALTHY_UPTIME_SECONDS = 60.0  # a child that ran this long before crashing starts a fresh backoff
_SUPERVISOR_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}


@dataclass
class _Slot:
    """One child position: its pid and its crash history (the transport's one backoff rule)."""

    index: int
    pid: int | None = None
    backoff: Backoff = field(
        default_factory=lambda: Backoff(RESTART_BACKOFF_MIN, RESTART_BACKOFF_MAX)
    )
    start_after: float = 0.0
    started_at: float = 0.0


@dataclass
class Supervisor:
    """Keeps ``processes`` children alive until told to stop."""

    jobs: Sequence[GearmanJob[Any, Any]]
    processes: int = 1
    max_jobs: int | None = None
    servers: Sequence[str] | None = None
    slots: list[_Slot] = field(default_factory=list)
    restarts: deque[float] = field(default_factory=deque)
    signals_seen: int = 0
    wake_fds: tuple[int, ...] = ()

    def run(self) -> int:
        """Supervise until a signal; returns the exit status for the command (0 after a
        graceful stop, 1 when a second signal killed the children)."""
        if self.processes < 1:
            raise ValueError("the number of worker processes must be at least 1")
        from django.db import connections

        for job in self.jobs:
            job_spec(job)  # built once, here, for every child (see the module docstring)
        connections.close_all()  # never share a database socket with the children
        gc.freeze()  # children share the loaded modules copy-on-write; gc never scans them
        wake_read, wake_write = os.pipe()
        self.wake_fds = (wake_read, wake_write)
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        handlers = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
        }
        self.slots = [_Slot(index) for index in range(self.processes)]
        log.info(
            "supervisor %d: starting %d worker(s) for %d job(s)",
            os.getpid(),
            self.processes,
            len(self.jobs),
        )
        try:
            while self.signals_seen == 0:
                self._reap()
                self._start_missing()
                with contextlib.suppress(InterruptedError):
                    select.select([wake_read], [], [], self._next_wait())
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 512)
            self._shutdown(wake_read)
        finally:
            signal.set_wakeup_fd(previous_wakeup)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            os.close(wake_read)
            os.close(wake_write)
        return 0 if self.signals_seen <= 1 else 1  # 1: the children were killed, jobs cut short

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGCHLD:
            return  # the wake-up fd ends the select; _reap does the work
        self.signals_seen += 1
        if self.signals_seen == 1:
            log.info("supervisor: stopping; children finish their current job")
            self._signal_children(signal.SIGTERM)
        else:
            log.warning("supervisor: second signal, killing the children now")
            self._signal_children(signal.SIGKILL)

    def _signal_children(self, sig: signal.Signals) -> None:
        for slot in self.slots:
            if slot.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.pid, sig)

    def _next_wait(self) -> float:
        now = time.monotonic()
        waits = [slot.start_after - now for slot in self.slots if slot.pid is None]
        return max(0.01, min([1.0, *waits]))

    def _reap(self, *, restart: bool = True) -> None:
        """Collect exited children; with ``restart``, schedule their replacement."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                for slot in self.slots:
                    slot.pid = None
                return
            if pid == 0:
                return
            for slot in self.slots:
                if slot.pid == pid:
                    slot.pid = None
                    if restart:
                        self._after_exit(slot, status)

    def _after_exit(self, slot: _Slot, status: int) -> None:
        code = os.waitstatus_to_exitcode(status)
        now = time.monotonic()
        if code == 0:
            slot.backoff.reset()
            slot.start_after = now
            log.info("supervisor: worker %d recycled (max jobs reached)", slot.index)
            return
        if now - slot.started_at >= HEALTHY_UPTIME_SECONDS:
            slot.backoff.reset()  # an old crash history says nothing about this one
        delay = slot.backoff.next()
        slot.start_after = now + delay
        log.warning(
            "supervisor: worker %d exited with %s; restarting in %.1fs",
            slot.index,
            f"signal {-code}" if code < 0 else f"status {code}",
            delay,
        )

    def _start_missing(self) -> None:
        now = time.monotonic()
        while self.restarts and self.restarts[0] < now - 60:
            self.restarts.popleft()
        for slot in self.slots:
            if slot.pid is not None or slot.start_after > now or self.signals_seen:
                continue
            if (
                len(self.restarts)
                >= RESTARTS_PER_MINUTE_PER_CHILD * self.processes + self.processes
            ):
                slot.start_after = now + 1.0
                log.error("supervisor: too many worker restarts in a minute; waiting")
                continue
            self.restarts.append(now)
            slot.started_at = now
            slot.pid = self._fork()
            if slot.pid is None:
                slot.start_after = now + RESTART_BACKOFF_MAX

    def _fork(self) -> int | None:
        """Start one child; ``None`` if the system refused to fork (retried later)."""
        # Signals stay blocked across fork, so a child never runs the parent's handler (which
        # would signal its siblings) before it has installed its own.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISOR_SIGNALS)
        try:
            pid = os.fork()
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SUPERVISOR_SIGNALS)
            log.error("supervisor: cannot start a worker process: %s", exc)
            return None
        if pid != 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SUPERVISOR_SIGNALS)
            return pid
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            for fd in self.wake_fds:
                os.close(fd)
            os.setpgid(0, 0)  # a terminal's Ctrl-C reaches the parent only; it relays once
            self.slots = []
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SUPERVISOR_SIGNALS)
            run_child(self.jobs, self.max_jobs, self.servers, parent_pid=os.getppid())
            code = 0
        except BaseException:
            log.exception("worker %d crashed", os.getpid())
        finally:
            logging.shutdown()
            os._exit(code)

    def _shutdown(self, wake_read: int) -> None:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(slot.pid is not None for slot in self.slots):
            self._reap(restart=False)
            if time.monotonic() > deadline:
                log.error("supervisor: children did not stop in %.0fs; killing", STOP_GRACE_SECONDS)
                self._signal_children(signal.SIGKILL)
                deadline = time.monotonic() + 10
            with contextlib.suppress(InterruptedError):
                select.select([wake_read], [], [], 0.2)
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 512)
        log.info("supervisor %d: all workers stopped", os.getpid())
