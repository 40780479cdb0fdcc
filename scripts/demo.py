#!/usr/bin/env python3
"""``make demo``: a private gearmand, ``gearman_worker -w 4`` and the example client, then cleanup.

Everything runs on a free loopback port and is stopped on success, failure and Ctrl-C alike. The
whole demo is bounded in time; a failure exits non-zero with the reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django_gearman.protocol import AdminClient, GearmanError  # noqa: E402
from tests.support.gearmand import Gearmand  # noqa: E402

WORKERS = 4
READY_TIMEOUT = 30.0
CLIENT_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def wait_for_workers(address: str, function: str, count: int, timeout: float) -> None:
    """Poll gearmand's status until ``count`` workers serve ``function``."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        try:
            with AdminClient(address, timeout=2.0) as admin:
                seen = max(
                    (s.available_workers for s in admin.status() if s.function == function),
                    default=0,
                )
        except (GearmanError, OSError):
            seen = 0
        if seen >= count:
            return
        time.sleep(0.1)
    raise RuntimeError(f"only {seen} of {count} workers registered {function} in {timeout}s")


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM (workers finish their job), then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(10)


def main() -> int:
    server = Gearmand()
    worker: subprocess.Popen[bytes] | None = None
    env = {
        **os.environ,
        "GEARMAN_SERVERS": "",
        "DJANGO_SETTINGS_MODULE": "gearman_example.settings",
    }
    try:
        server.start()
        env["GEARMAN_SERVERS"] = server.address
        print(f"demo: gearmand listening on {server.address}", flush=True)
        manage = [sys.executable, str(ROOT / "manage.py")]
        worker = subprocess.Popen(
            [*manage, "gearman_worker", "-w", str(WORKERS)], cwd=ROOT, env=env
        )
        wait_for_workers(server.address, "gearman_example.reverse", WORKERS, READY_TIMEOUT)
        print(f"demo: {WORKERS} workers ready; running the example client", flush=True)
        client = subprocess.run(
            [*manage, "gearman_example_client"], cwd=ROOT, env=env, timeout=CLIENT_TIMEOUT
        )
        if client.returncode != 0:
            print(f"demo: the example client failed (exit {client.returncode})", file=sys.stderr)
            return 1
        print("demo: status of the server after the run:", flush=True)
        subprocess.run([*manage, "gearman_status"], cwd=ROOT, env=env, timeout=30)
        print("demo: success", flush=True)
        return 0
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"demo: failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if worker is not None:
            code = stop_process(worker, STOP_TIMEOUT)
            print(f"demo: workers stopped (exit {code})", flush=True)
        server.stop()
        print("demo: gearmand stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
