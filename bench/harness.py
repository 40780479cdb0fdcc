"""Shared scaffolding of the transport scenarios: a private gearmand, workers that may fail to
start, clients that may fail to connect, and interleaved repetitions.

An implementation that fails is reported in the run's problems and left out of that scenario;
the others still run, so one broken layer never hides the numbers of the rest.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from bench.clients import SUBMITTERS, BenchFailure, Submitter
from bench.measure import Sample
from bench.processes import RunningWorkers, WorkerSpec
from bench.report import Report
from bench.wire import split_address
from tests.support.gearmand import Gearmand

T = TypeVar("T")
WARM_UP_CALLS = 20


@contextlib.contextmanager
def private_gearmand() -> Iterator[Gearmand]:
    with tempfile.TemporaryDirectory(prefix="bench-gearmand-") as workdir:
        server = Gearmand(workdir=Path(workdir))
        server.start()
        try:
            yield server
        finally:
            server.stop()


class Scenario:
    """One section of the run: records failures under its name and keeps what works."""

    def __init__(self, report: Report, name: str, stack: contextlib.ExitStack) -> None:
        self.report = report
        self.name = name
        self.stack = stack

    def attempt(self, label: str, action: Callable[[], T]) -> T | None:
        try:
            return action()
        except Exception as exc:  # any failure of code under test is a finding, not a crash
            self.report.problems.append(f"{self.name}: {label}: {type(exc).__name__}: {exc}")
            return None

    def workers(self, label: str, address: str, specs: list[WorkerSpec]) -> RunningWorkers | None:
        """Start workers for the whole scenario; None (and a problem noted) if they fail."""
        pool = RunningWorkers(address, specs)
        return self.attempt(f"{label} workers", lambda: self.stack.enter_context(pool))

    def submitter(self, kind: str, address: str, function: str) -> Submitter | None:
        """A connected client whose echo answers were checked, warmed up; None if it failed."""

        def connect() -> Submitter:
            submitter = SUBMITTERS[kind](address, function)
            self.stack.callback(submitter.close)
            return submitter

        return self.attempt(kind, connect)

    def check_echo(self, label: str, submitter: Submitter, payload: bytes) -> bool:
        argument = submitter.prepare(payload)

        def probe() -> None:
            answer = submitter.call(argument)
            if answer != argument:
                raise BenchFailure(f"echo returned {answer!r}, sent {argument!r}")

        return self.warm_up(f"{label} echo check", probe)

    def warm_up(self, label: str, operation: Callable[[], object]) -> bool:
        """Run ``operation`` a few times untimed (connections, caches); False if it failed."""

        def repeat() -> bool:
            for _ in range(WARM_UP_CALLS):
                operation()
            return True

        return self.attempt(f"{label} warm-up", repeat) is True

    def interleave(
        self, repeats: int, candidates: dict[str, Callable[[], Sample]]
    ) -> dict[str, list[Sample]]:
        """Run every candidate once per repeat, in turn, so background load hits all alike."""
        samples: dict[str, list[Sample]] = {label: [] for label in candidates}
        alive = dict(candidates)
        for _ in range(repeats):
            for label, run in list(alive.items()):
                sample = self.attempt(label, run)
                if sample is None:
                    del alive[label]
                else:
                    samples[label].append(sample)
        return {label: found for label, found in samples.items() if found}


def c_tool_sample(
    address: str, function: str, payload: bytes, jobs: int, background: bool
) -> Sample:
    """Feed ``jobs`` lines to the C ``gearman`` client (one job a line, each waited for unless
    background). Includes the tool's start-up, a few milliseconds against seconds of work."""
    host, port = split_address(address)
    command = ["gearman", "-h", host, "-p", str(port), "-f", function, "-N"]
    if background:
        command.append("-b")
    lines = (payload + b"\n") * jobs
    start = time.perf_counter()
    completed = subprocess.run(command, input=lines, capture_output=True, timeout=300)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise BenchFailure(
            f"{' '.join(command)} exited {completed.returncode}: {completed.stderr[-500:]!r}"
        )
    return Sample(jobs, elapsed)
