"""Configuration: OPTIONS validation, the system checks (through ``manage.py check`` in a real
process), the naming and priority rules, and a backend without a result store."""

from __future__ import annotations

import json

import pytest

from django_gearman.tasks.naming import function_name, queue_name_problem, split_function_name
from django_gearman.tasks.options import parse_options
from django_gearman.tasks.priority import gearman_priority
from tests.tasks.support import TASKS, TasksProject


def test_priorities_map_onto_gearmans_three_by_sign() -> None:
    assert [gearman_priority(p) for p in (-100, -1, 0, 1, 100)] == [
        "low",
        "low",
        "normal",
        "high",
        "high",
    ]


def test_function_names_are_module_path_at_queue() -> None:
    assert function_name("shop.tasks.send", "emails") == "shop.tasks.send@emails"
    assert split_function_name("shop.tasks.send@emails") == ("shop.tasks.send", "emails")
    with pytest.raises(ValueError, match="not a task job name"):
        split_function_name("shop.tasks.send")
    assert queue_name_problem("has space") is not None
    assert queue_name_problem("a@b") is not None
    assert queue_name_problem("") is not None
    assert queue_name_problem("emails") is None


def test_options_are_validated_and_typos_refused() -> None:
    parsed, problems = parse_options({"SERVERS": "127.0.0.1:4731", "STORE_RESULTS": False})
    assert problems == []
    assert parsed.servers == ("127.0.0.1:4731",) and parsed.store_results is False
    _, problems = parse_options({"STORE_RESULT": True, "SERIALIZER": "pickle", "SERVERS": [1]})
    text = " ".join(problems)
    assert "unknown OPTIONS ['STORE_RESULT']" in text
    assert "SERIALIZER" in text and "SERVERS" in text
    _, problems = parse_options({"SERVERS": "not a server:port:x"})
    assert problems and "SERVERS" in problems[0]
    assert parse_options([])[1] == ["OPTIONS must be a dict, not list"]


def _check(project: TasksProject, tasks: dict[str, object], **env: str) -> str:
    done = project.manage("check", **{"TEST_TASKS_SETTING": json.dumps(tasks), **env})
    return done.stdout + done.stderr


def _gearman(queues: list[str] | None = None, **options: object) -> dict[str, object]:
    backend: dict[str, object] = {
        "BACKEND": "django_gearman.tasks.GearmanBackend",
        "OPTIONS": options,
    }
    if queues is not None:
        backend["QUEUES"] = queues
    return {"default": backend}


def test_check_reports_no_server(project: TasksProject) -> None:
    output = _check(project, _gearman(["default", "emails"]), TEST_GEARMAN_SERVER="")
    assert "django_gearman.tasks.E001" in output and "no Gearman server" in output


def test_check_reports_empty_queues(project: TasksProject) -> None:
    output = _check(project, _gearman([]))
    assert "django_gearman.tasks.E002" in output


def test_check_reports_an_unmigrated_store(project: TasksProject) -> None:
    fresh = project.directory / "never-migrated.sqlite3"
    output = _check(project, _gearman(["default", "emails"]), TEST_TASKS_DB=str(fresh))
    assert "django_gearman.tasks.W002" in output and "not migrated" in output


def test_check_is_quiet_when_all_is_well(project: TasksProject) -> None:
    output = _check(project, _gearman(["default", "emails"]))
    assert "System check identified no issues" in output


def test_bad_options_stop_the_process_with_a_clear_error(project: TasksProject) -> None:
    output = _check(project, _gearman(["default", "emails"], STORE_RESULT=False))
    assert "unknown OPTIONS ['STORE_RESULT']" in output
    output = _check(project, _gearman(["default", "bad queue"]))
    assert "must be non-empty printable ASCII without spaces" in output


def test_without_a_store_tasks_run_but_results_are_not_kept(project: TasksProject) -> None:
    env = {"TEST_TASKS_SETTING": json.dumps(_gearman(["default", "emails"], STORE_RESULTS=False))}
    worker = project.start_worker(
        "-w", "1", "-q", "default", function=f"{TASKS}.mark@default", env=env
    )
    enqueued = project.client("enqueue", task=f"{TASKS}.mark", args=repr(("no store",)), env=env)
    assert enqueued["status"] == "READY"
    project.wait_for_events("ran", 1)
    assert [e["label"] for e in project.events("ran")] == ["no store"]
    answer = project.client("result", id=enqueued["id"], env=env)
    assert answer["error"].endswith("TaskResultDoesNotExist")
    assert "STORE_RESULTS is False" in answer["message"]
    worker.stop()
