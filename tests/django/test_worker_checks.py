"""The checks a worker (and a scheduler) runs at start: only django-gearman's, as a user sees them.

A small project in a temporary directory has a URLconf that raises on import and a model check
that always fails: ``manage.py check`` reports both, while ``gearman_worker`` and
``gearman_scheduler`` start without them, and still stop on django-gearman's own errors (with
Django's output) and print its warnings. The task backends' checks, which Django runs in one
untagged check, still run in the worker. Every command is a real subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks
from django.test import override_settings

from django_gearman.calls import job_spec
from django_gearman.checks import TAG, gearman_check, task_backends_check, worker_checks
from tests.django.jobs_app.gearman_jobs import echo
from tests.django.support import ROOT, WorkerProcess
from tests.support.gearmand import Gearmand

ECHO = "startup.echo"
COMMAND_TIMEOUT = 120.0

SETTINGS = """
from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "startup_app"]  # noqa: F405
ROOT_URLCONF = "startup_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATABASE_FILE}}
"""
BROKEN_URLCONF = 'raise RuntimeError("the URLconf was imported")\n'
JOBS = """
import os

from django.core import checks

from django_gearman import gearman_job


@checks.register(checks.Tags.models)
def always_fails(app_configs=None, **kwargs):
    return [checks.Error("a model check ran", id="startup.E001")]


@gearman_job(name="startup.echo", worker_timeout=30)
def echo(text: str) -> str:
    return text


if os.environ.get("STARTUP_JOB") == "pickle":

    @gearman_job(name="startup.unsafe", serializer="pickle")
    def unsafe(text: str) -> str:
        return text

if os.environ.get("STARTUP_JOB") == "untyped":

    @gearman_job(name="startup.untyped")
    def untyped(text: "NoSuchType") -> str:  # noqa: F821
        return str(text)
"""


@pytest.fixture
def project(tmp_path: Path) -> dict[str, str]:
    """The project's files; returns the environment its commands run with."""
    (tmp_path / "startup_settings.py").write_text(
        f"DATABASE_FILE = {str(tmp_path / 'db.sqlite3')!r}\n{SETTINGS}"
    )
    (tmp_path / "startup_urls.py").write_text(BROKEN_URLCONF)
    app = tmp_path / "startup_app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "gearman_jobs.py").write_text(JOBS)
    return {"DJANGO_SETTINGS_MODULE": "startup_settings", "PYTHONPATH": f"{ROOT}:{tmp_path}"}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def test_manage_py_check_runs_the_checks_the_worker_leaves_out(project: dict[str, str]) -> None:
    done = manage(project, "check")
    assert done.returncode != 0
    assert "the URLconf was imported" in done.stderr  # the URL check imported ROOT_URLCONF


def test_the_worker_runs_neither_model_nor_url_checks_and_prints_ours(
    project: dict[str, str], gearmand: Gearmand
) -> None:
    worker = WorkerProcess(gearmand.address, ["--log-level", "WARNING"], env=project)
    worker.start()
    try:
        worker.wait_for_workers(ECHO, 1)
        output = worker.output()
        assert "django_gearman.W001" in output  # our warning (worker_timeout), printed
        assert "startup.E001" not in output
        assert "URLconf" not in output
    finally:
        worker.stop()


def test_an_error_of_ours_stops_the_worker_with_djangos_output(
    project: dict[str, str], gearmand: Gearmand
) -> None:
    done = manage(
        {**project, "STARTUP_JOB": "pickle"}, "gearman_worker", "--servers", gearmand.address
    )
    assert done.returncode == 1
    assert "SystemCheckError: System check identified some issues" in done.stderr
    assert "django_gearman.E003" in done.stderr
    assert "startup.E001" not in done.stderr


def test_a_spec_that_cannot_be_built_stops_the_worker_before_any_child_starts(
    project: dict[str, str], gearmand: Gearmand
) -> None:
    """With the checks skipped, the supervisor's spec building still refuses the job at once
    (before, every child it forked crashed on it and was restarted, with backoff, forever)."""
    untyped = {**project, "STARTUP_JOB": "untyped"}
    checked = manage(untyped, "gearman_worker", "--servers", gearmand.address)
    assert checked.returncode == 1 and "django_gearman.E006" in checked.stderr
    done = manage(untyped, "gearman_worker", "--servers", gearmand.address, "--skip-checks")
    assert done.returncode == 1
    assert "CommandError: cannot serve the jobs" in done.stderr
    assert "startup_app.gearman_jobs.untyped" in done.stderr  # the function, named
    assert "crashed" not in done.stderr  # no child was started


def test_the_worker_still_runs_the_gearman_task_backends_checks(
    tmp_path: Path, gearmand: Gearmand
) -> None:
    tasks = {"default": {"BACKEND": "django_gearman.tasks.GearmanBackend", "QUEUES": []}}
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.tasks.settings",
        "PYTHONPATH": str(ROOT),
        "TEST_TASKS_DB": str(tmp_path / "store.sqlite3"),
        "TEST_GEARMAN_SERVER": gearmand.address,
        "TEST_TASKS_SETTING": json.dumps(tasks),
    }
    done = manage(env, "gearman_worker", "--servers", gearmand.address)
    assert done.returncode == 1
    assert "django_gearman.tasks.E002" in done.stderr


def test_the_scheduler_runs_only_our_checks_too(
    project: dict[str, str], gearmand: Gearmand
) -> None:
    migrated = manage(project, "migrate", "--noinput", "--skip-checks")
    assert migrated.returncode == 0, migrated.stderr
    done = manage(project, "gearman_scheduler", "--once", "--servers", gearmand.address)
    assert done.returncode == 0, done.stderr
    assert "django_gearman.W001" in done.stderr
    assert "startup.E001" not in done.stderr
    unsafe = manage(
        {**project, "STARTUP_JOB": "pickle"}, "gearman_scheduler", "--once", "--servers",
        gearmand.address,
    )  # fmt: skip
    assert unsafe.returncode == 1 and "django_gearman.E003" in unsafe.stderr


def test_every_check_of_ours_is_tagged_and_the_task_check_only_for_the_worker() -> None:
    tagged = {check for check in checks.registry.registry.get_checks() if TAG in check.tags}
    assert gearman_check in tagged
    assert task_backends_check not in tagged  # manage.py check: Django's task check reports it
    with worker_checks():
        assert task_backends_check in checks.registry.registry.get_checks()
    assert task_backends_check not in checks.registry.registry.get_checks()


def test_specs_built_before_a_fork_are_shared_and_a_settings_change_rebuilds_them() -> None:
    """What the supervisor relies on: a child starts with the parent's specs (the same objects),
    and ``override_settings`` in the child still drops them (``calls.on_settings_reset``)."""
    built = job_spec(echo)
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        status = 1
        try:
            shared = job_spec(echo) is built
            with override_settings(GEARMAN_JOB_NAME="child.{name}"):
                renamed = job_spec(echo).wire_name == f"child.{echo.name}"
            status = 0 if shared and renamed and job_spec(echo) is not built else 2
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0
    assert job_spec(echo) is built  # the parent kept its own
