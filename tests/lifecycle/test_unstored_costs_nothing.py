"""A job that does not opt into the store never touches the database: its client and its worker
work with a database that cannot even be reached, and never load the store's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.django.support import ROOT, wait_until
from tests.lifecycle.store_support import StoreDatabase, start_worker
from tests.support.gearmand import HOST, Gearmand, free_port

WAIT = 30.0


def unreachable_database() -> StoreDatabase:
    """PostgreSQL settings for a port nobody listens on: any query raises at once."""
    settings = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "nowhere",
        "USER": "nobody",
        "HOST": HOST,
        "PORT": str(free_port()),
        "OPTIONS": {"connect_timeout": 2},
    }
    return StoreDatabase("unreachable", settings)


CLIENT = """
import json, sys
import django
django.setup()
from django.db import connections
from tests.lifecycle.store_jobs import gearman_jobs as jobs
handle = jobs.unstored_mark.dispatch(sys.argv[1])
eager = jobs.unstored_mark.using(eager=True).submit(sys.argv[2])
print(json.dumps({
    "handle": handle,
    "eager": eager,
    "store_loaded": "django_gearman.store" in sys.modules,
    "connected": any(c.connection is not None for c in connections.all()),
}))
"""


def test_an_unstored_job_needs_no_database(gearmand: Gearmand, tmp_path: Path) -> None:
    database = unreachable_database()
    worker = start_worker(
        gearmand.address, database, "-w", "1", "-q", "lifecycle-plain", wait_for="unstored_mark"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", CLIENT, str(tmp_path / "sent"), str(tmp_path / "eager")],
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                **database.env(STORE_TEST_GEARMAN=gearmand.address),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        client = json.loads(done.stdout.splitlines()[-1])
        wait_until((tmp_path / "sent").exists, WAIT, "the worker to run the unstored job")
    finally:
        worker.stop()
    assert client["handle"].startswith("H:")
    assert client["eager"] == "ran" and (tmp_path / "eager").read_text() == "ran"
    assert client["store_loaded"] is False
    assert client["connected"] is False
    assert "Traceback" not in worker.output()
