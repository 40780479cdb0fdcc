"""django.tasks' backend contract, end to end: client and reader processes, real gearmand, a real
``gearman_worker`` supervisor, one SQLite result store (the behaviours Django's own backend tests
check, where they apply to a backend whose tasks run in another process)."""

from __future__ import annotations

from datetime import datetime

from tests.tasks.support import TASKS, TasksProject


def _moment(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def test_enqueue_gives_a_ready_result_with_normalised_arguments(served: TasksProject) -> None:
    result = served.enqueue("echo", [1, (2, 3)], b"bytes", kwargs={"k": (4,)})
    assert result["status"] == "READY"
    assert not result["is_finished"]
    assert result["args"] == [[1, [2, 3]], "bytes"]
    assert result["kwargs"] == {"k": [4]}
    assert result["backend"] == "default"
    assert result["enqueued_at"] is not None
    assert result["started_at"] is None and result["worker_ids"] == []
    assert result["return_value_error"] == "Task has not finished yet"
    assert len(result["id"]) == 32


def test_a_result_is_read_by_id_from_another_process(served: TasksProject) -> None:
    enqueued = served.enqueue("add", 2, 3)
    finished = served.finished(enqueued["id"])
    assert finished["status"] == "SUCCESSFUL"
    assert finished["return_value"] == 5
    assert finished["is_finished"] and finished["attempts"] == 1
    assert finished["args"] == [2, 3] and finished["kwargs"] == {}
    assert finished["task"]["module_path"] == f"{TASKS}.add"
    assert _moment(finished["enqueued_at"]) <= _moment(finished["started_at"])
    assert _moment(finished["started_at"]) <= _moment(finished["finished_at"])
    assert finished["last_attempted_at"] == finished["started_at"]
    host, pid = finished["worker_ids"][0].rsplit(":", 1)
    assert host and int(pid) in {w.pid for w in served.workers} | set(
        _children(served.workers[0].pid)
    )


def _children(pid: int) -> list[int]:
    from tests.django.support import children_of

    return children_of(pid)


def test_task_get_result_and_refresh_through_the_task(served: TasksProject) -> None:
    enqueued = served.enqueue("add", 20, 22)
    through_task = served.finished(enqueued["id"], task=f"{TASKS}.add")
    assert through_task["return_value"] == 42
    mismatch = served.client("result", id=enqueued["id"], task=f"{TASKS}.echo")
    assert mismatch["error"].endswith("TaskResultMismatch")
    assert "Task does not match" in mismatch["message"]


def test_async_enqueue_and_async_get_result(served: TasksProject) -> None:
    enqueued = served.enqueue("add", 1, 1, asynchronous=True)
    assert enqueued["status"] == "READY"
    finished = served.finished(enqueued["id"], asynchronous=True)
    assert finished["return_value"] == 2


def test_an_async_task_function_runs_on_the_worker(served: TasksProject) -> None:
    enqueued = served.enqueue("sleepy_async", 0.01)
    assert served.finished(enqueued["id"])["return_value"] == "awake"


def test_unknown_result_ids_do_not_exist(served: TasksProject) -> None:
    for unknown in ("123", "0" * 32, "x" * 200, ""):
        answer = served.client("result", id=unknown)
        assert answer["error"].endswith("TaskResultDoesNotExist"), answer
        answer = served.client("result", id=unknown, asynchronous=True)
        assert answer["error"].endswith("TaskResultDoesNotExist"), answer


def test_a_failing_task_is_failed_with_class_path_and_traceback(served: TasksProject) -> None:
    enqueued = served.enqueue("fail", "it broke")
    finished = served.finished(enqueued["id"])
    assert finished["status"] == "FAILED" and finished["is_finished"]
    assert finished["return_value_error"] == "Task failed"
    [error] = finished["errors"]
    assert error["path"] == f"{TASKS}.TaskProblem"
    assert error["class"] == f"{TASKS}.TaskProblem"  # TaskError.exception_class resolves
    assert error["traceback"].endswith("TaskProblem: it broke\n")
    assert "raise TaskProblem(message)" in error["traceback"]
    assert finished["finished_at"] is not None


def test_an_unserialisable_return_value_fails_the_task(served: TasksProject) -> None:
    finished = served.finished(served.enqueue("unserialisable_result")["id"])
    assert finished["status"] == "FAILED"
    [error] = finished["errors"]
    assert error["path"] == "builtins.TypeError"
    assert "Unsupported type" in error["traceback"]


def test_takes_context_gets_the_result_id_and_attempt(served: TasksProject) -> None:
    enqueued = served.enqueue("with_context", "ctx")
    value = served.finished(enqueued["id"])["return_value"]
    assert value["id"] == enqueued["id"]
    assert value["attempt"] == 1
    assert value["status"] == "RUNNING"
    assert value["label"] == "ctx" and len(value["worker_ids"]) == 1


def test_arguments_are_checked_against_annotations_before_sending(served: TasksProject) -> None:
    wrong = served.enqueue("add", "not a number", 1)
    assert wrong["error"] == "serializers.errors.ValidationFailed"
    assert "args.0" in wrong["message"]
    missing = served.enqueue("add", 1)
    assert missing["error"] == "serializers.errors.ValidationFailed"
    unsupported = served.enqueue("echo", using={"queue_name": "nowhere"})
    assert unsupported["error"].endswith(("InvalidTask", "InvalidTaskError"))
    assert "Queue 'nowhere' is not valid for backend" in unsupported["message"]


def test_worker_sends_started_and_finished_signals(served: TasksProject) -> None:
    enqueued = served.enqueue("mark", "signals")
    served.finished(enqueued["id"])
    mine = {e["kind"]: e for e in served.events() if e.get("id") == enqueued["id"]}
    kinds = [e["kind"] for e in served.events() if e.get("id") == enqueued["id"]]
    # task_enqueued is sent by the client once gearmand accepted the task, so a worker on
    # another process may already have started it: only the worker's own two are ordered
    assert sorted(kinds) == ["task_enqueued", "task_finished", "task_started"]
    assert kinds.index("task_started") < kinds.index("task_finished")
    order = [(e["kind"], e.get("id") or e["label"]) for e in served.events()]
    ran = order.index(("ran", "signals"))
    assert order.index(("task_started", enqueued["id"])) < ran
    assert ran < order.index(("task_finished", enqueued["id"]))
    started, finished = mine["task_started"], mine["task_finished"]
    assert started["status"] == "RUNNING" and finished["status"] == "SUCCESSFUL"
    assert started["sender"] == finished["sender"] == "django_gearman.tasks.backend.GearmanBackend"
    assert mine["task_enqueued"]["pid"] != started["pid"]  # enqueued in the client, run here


def test_a_failed_task_finishes_with_its_error_in_the_signal(served: TasksProject) -> None:
    enqueued = served.enqueue("fail", "signal me")
    served.finished(enqueued["id"])
    [finished] = [e for e in served.events("task_finished") if e.get("id") == enqueued["id"]]
    assert finished["status"] == "FAILED"
    assert finished["errors"] == [f"{TASKS}.TaskProblem"]


def test_a_rolled_back_enqueue_sends_nothing(served: TasksProject) -> None:
    rolled_back = served.enqueue("mark", "rolled back", transaction="rollback")
    committed = served.enqueue("mark", "committed", transaction="commit")
    served.finished(committed["id"])
    assert served.client("result", id=rolled_back["id"])["error"].endswith("TaskResultDoesNotExist")
    assert "rolled back" not in [e["label"] for e in served.events("ran")]


def test_system_exit_fails_the_task_and_the_worker_serves_on(served: TasksProject) -> None:
    finished = served.finished(served.enqueue("exit_task")["id"])
    assert finished["status"] == "FAILED"
    assert finished["errors"][0]["path"] == "builtins.SystemExit"
    assert finished["errors"][0]["traceback"].endswith("SystemExit: leaving\n")
    assert served.finished(served.enqueue("add", 1, 2)["id"])["return_value"] == 3


def test_a_future_run_after_waits_in_the_store(served: TasksProject) -> None:
    # Deferred tasks are released by `gearman_scheduler` (the lifecycle's scheduler), not here.
    deferred = served.enqueue("mark", "deferred", run_after_in=3600)
    assert deferred["status"] == "READY" and deferred["task"]["run_after"] is not None
    due = served.enqueue("mark", "due already", run_after_in=-60)
    served.finished(due["id"])
    later = served.finished(deferred["id"], wait=0)
    assert (
        later["status"] == "READY" and later["task"]["run_after"] == deferred["task"]["run_after"]
    )
    assert "deferred" not in [e["label"] for e in served.events("ran")]
