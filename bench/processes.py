"""Start worker processes, wait until gearmand sees them, and always stop them again.

Each worker runs in its own session so it and any children it forks (``gearman_worker -w 2``)
are ended together, by the process-group id we started, never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.admin import AdminConnection, AdminError
from bench.wire import split_address

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class WorkerSpec:
    """A worker command serving ``function``; ``registrations`` is how many workers it adds."""

    command: list[str]
    function: str
    registrations: int = 1
    env: dict[str, str] = field(default_factory=dict)


def python_worker(kind: str, address: str, function: str, lifetime: float) -> WorkerSpec:
    command = [sys.executable, "-m", "bench.workers", kind, address, function]
    return WorkerSpec([*command, "--lifetime", str(lifetime)], function)


def c_worker(address: str, function: str, lifetime: float) -> WorkerSpec:
    """The C ``gearman -w`` tool with no command echoes each job's data back."""
    host, port = split_address(address)
    command = ["gearman", "-w", "-h", host, "-p", str(port), "-f", function]
    return WorkerSpec(["timeout", str(int(lifetime) + 1), *command], function)


def django_worker(address: str, processes: int, lifetime: float) -> WorkerSpec:
    """``manage.py gearman_worker -w N`` for the bench's Django site (its typed echo job)."""
    from bench.djangosite import ECHO_WIRE_NAME, SETTINGS_MODULE

    command = [
        sys.executable,
        "-m",
        "django",
        "gearman_worker",
        "-w",
        str(processes),
        "--servers",
        address,
        "--settings",
        SETTINGS_MODULE,
        "--log-level",
        "WARNING",
    ]
    return WorkerSpec(["timeout", str(int(lifetime) + 1), *command], ECHO_WIRE_NAME, processes)


def worker_for(kind: str, address: str, function: str, lifetime: float) -> WorkerSpec:
    """One echo worker process of ``kind``: raw, pygearman, ours, c, or django (-w 1)."""
    if kind == "c":
        return c_worker(address, function, lifetime)
    if kind == "django":
        return django_worker(address, 1, lifetime)
    return python_worker(kind, address, function, lifetime)


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


class RunningWorkers:
    """Context manager: the workers are registered with gearmand inside the ``with`` block."""

    def __init__(
        self,
        address: str,
        specs: list[WorkerSpec],
        ready_timeout: float = 60.0,
        wait_ready: bool = True,
    ) -> None:
        self.wait_ready = wait_ready
        self.address = address
        self.specs = specs
        self.ready_timeout = ready_timeout
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = Path(tempfile.mkdtemp(prefix="bench-workers-"))

    def __enter__(self) -> RunningWorkers:
        try:
            for index, spec in enumerate(self.specs):
                log = (self.logs / f"worker-{index}.log").open("wb")
                self.processes.append(
                    subprocess.Popen(
                        spec.command,
                        cwd=REPO_ROOT,
                        env=child_environment(spec.env),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
                log.close()
            if self.wait_ready:
                self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        expected: dict[str, int] = {}
        for spec in self.specs:
            expected[spec.function] = expected.get(spec.function, 0) + spec.registrations
        deadline = time.monotonic() + self.ready_timeout
        with AdminConnection(self.address) as admin:
            while True:
                self.raise_if_exited()
                status = admin.status()
                if all(
                    name in status and status[name].workers >= count
                    for name, count in expected.items()
                ):
                    return
                if time.monotonic() > deadline:
                    raise AdminError(
                        f"workers not registered within {self.ready_timeout}s: want {expected}, "
                        f"gearmand shows {status}; logs in {self.logs}"
                    )
                time.sleep(0.02)

    def raise_if_exited(self) -> None:
        """A worker that died is an error now, not a timeout later."""
        for index, process in enumerate(self.processes):
            code = process.poll()
            if code is not None:
                log = (self.logs / f"worker-{index}.log").read_text(errors="replace")[-3000:]
                raise AdminError(
                    f"worker {self.specs[index].command} exited with {code} before being ready:\n"
                    f"{log}"
                )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.processes.clear()

    def __exit__(self, *exc: object) -> None:
        self.stop()
