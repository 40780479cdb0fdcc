"""Eager mode (``GEARMAN_EAGER``): ``enqueue`` runs the task in the calling process through the
worker's path and returns the finished result (as Django's ImmediateBackend does); the result
store has the outcome for any other process. No worker runs in this module."""

from __future__ import annotations

from tests.tasks.support import TASKS, TasksProject

EAGER = {"TEST_GEARMAN_EAGER": "1"}


def test_eager_enqueue_runs_the_task_and_stores_its_outcome(project: TasksProject) -> None:
    assert project.workers == []
    done = project.client("enqueue", env=EAGER, task=f"{TASKS}.add", args="(2, 3)")
    assert done["status"] == "SUCCESSFUL" and done["return_value"] == 5
    assert project.finished(done["id"], wait=0)["return_value"] == 5


def test_an_eager_failure_is_a_failed_result_not_an_exception(project: TasksProject) -> None:
    failed = project.client("enqueue", env=EAGER, task=f"{TASKS}.fail", args="('eager',)")
    assert failed["status"] == "FAILED"
    assert failed["errors"][0]["path"] == f"{TASKS}.TaskProblem"
    assert project.finished(failed["id"], wait=0)["status"] == "FAILED"
