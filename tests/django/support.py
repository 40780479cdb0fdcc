"""Helpers for running ``manage.py gearman_worker`` as a real subprocess in tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django_gearman.protocol import AdminClient

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 20 ms; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def workers_for(address: str, function: str) -> int:
    """Available workers of ``function`` according to gearmand's admin ``status``."""
    try:
        with AdminClient(address, timeout=2.0) as admin:
            return sum(s.available_workers for s in admin.status() if s.function == function)
    except OSError:
        return 0


def pid_gone(pid: int) -> bool:
    """``not pid_alive(pid)``, as a function to poll with ``wait_until``."""
    return not pid_alive(pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False


class WorkerProcess:
    """``python manage.py gearman_worker --servers ADDRESS ARGS`` with the test settings."""

    def __init__(self, address: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.address = address
        self.args = args
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        self.process: subprocess.Popen[str] | None = None
        self.log_path: Path | None = None

    def start(self) -> None:
        import tempfile

        handle, name = tempfile.mkstemp(prefix="gearman-worker-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "manage.py"),
                    "gearman_worker",
                    "--servers",
                    self.address,
                    *self.args,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path else ""

    def wait_for_workers(self, function: str, count: int, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"gearman_worker exited early:\n{self.output()}")
            return workers_for(self.address, function) >= count

        wait_until(ready, timeout, f"{count} worker(s) for {function}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc), e.g. the workers of a supervisor."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def check_progress_reports(steps: int) -> None:
    """Run ``report_progress`` and check that every report reached the caller's callbacks."""
    from tests.django.jobs_app.gearman_jobs import report_progress

    statuses: list[tuple[int, int]] = []
    data: list[object] = []
    warnings: list[str] = []
    job = report_progress.using(
        on_status=lambda n, d: statuses.append((n, d)),
        on_data=data.append,
        on_warning=warnings.append,
    )
    assert job.submit(steps) == steps
    assert statuses == [(step, steps) for step in range(1, steps + 1)]
    assert data == [{"done": steps}]
    assert warnings == ["all steps done"]
