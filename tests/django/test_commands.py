"""gearman_list_tasks, gearman_status and manage.py check, as a user runs them."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from tests.django.support import ROOT
from tests.support.gearmand import Gearmand, free_port


def run(command: str, *args: str, **options: object) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def test_list_tasks_shows_name_queue_serializer_accepts_and_signature() -> None:
    output = run("gearman_list_tasks")
    assert output.splitlines()[0].split() == ["name", "queue", "serializer", "accepts", "signature"]
    row = next(line for line in output.splitlines() if "msgpack_accepting_json" in line)
    assert "msgpack" in row and "application/json,application/msgpack" in row
    row = next(line for line in output.splitlines() if line.startswith("gearman_example.reverse"))
    assert "reverse(sentence: 'str') -> 'str'" in row
    assert "job(s)" in output.splitlines()[-1]


def test_list_tasks_filters_by_queue_and_shows_namespaced_names() -> None:
    with override_settings(GEARMAN_JOB_NAME="shop.{name}"):
        output = run("gearman_list_tasks", queues=["slow"])
    body = output.splitlines()[2:-1]
    assert len(body) == 1
    assert body[0].startswith("shop.tests.django.jobs_app.slow_job")
    assert " slow " in body[0]


def test_status_lists_every_server(gearmand_factory: object) -> None:
    first: Gearmand = gearmand_factory()  # type: ignore[operator]
    second: Gearmand = gearmand_factory()  # type: ignore[operator]
    from django_gearman.protocol import Client

    for server in (first, second):
        with Client([server.address]) as client:
            client.submit("some.function", b"x", background=True)
    output = run("gearman_status", servers=f"{first.address},{second.address}")
    rows = [line.split() for line in output.splitlines()[2:]]
    assert sorted(rows) == sorted(
        [
            [first.address, "some.function", "1", "0", "0"],
            [second.address, "some.function", "1", "0", "0"],
        ]
    )


def test_status_with_no_reachable_server_is_a_command_error() -> None:
    with pytest.raises(CommandError, match="no Gearman server answered"):
        run("gearman_status", servers=f"127.0.0.1:{free_port()}", timeout=1.0)


def test_commands_report_bad_settings_as_command_errors() -> None:
    with override_settings(GEARMAN_SERVERS=["bad host"]), pytest.raises(CommandError):
        run("gearman_status")


def test_manage_py_check_passes_for_the_example_project() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


def test_manage_py_check_fails_on_a_pickle_job_without_keys(tmp_path: object) -> None:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='gearman_example.settings';"
        "django.setup();"
        "from django_gearman import gearman_job;"
        "gearman_job(name='unsafe', serializer='pickle')(lambda x: x);"
        "from django.core.management import call_command; call_command('check')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "django_gearman.E003" in done.stderr


@pytest.fixture
def gearman_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("django_gearman")
    saved = (logger.level, list(logger.handlers))
    logger.handlers = []
    yield logger
    logger.setLevel(saved[0])
    logger.handlers = saved[1]


def test_worker_logging_keeps_the_level_logging_sets(gearman_logger: logging.Logger) -> None:
    from django_gearman.management.commands.gearman_worker import _log_to_stderr

    gearman_logger.setLevel(logging.WARNING)
    _log_to_stderr(None)
    assert gearman_logger.level == logging.WARNING
    assert gearman_logger.hasHandlers()
    handlers = list(gearman_logger.handlers)
    _log_to_stderr("DEBUG")
    assert gearman_logger.level == logging.DEBUG
    assert gearman_logger.handlers == handlers  # never a second handler


def test_worker_logging_defaults_to_info(gearman_logger: logging.Logger) -> None:
    from django_gearman.management.commands.gearman_worker import _log_to_stderr

    gearman_logger.setLevel(logging.NOTSET)
    _log_to_stderr(None)
    assert gearman_logger.level == logging.INFO
