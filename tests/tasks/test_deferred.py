"""``run_after``: a deferred task waits in the result store and ``gearman_scheduler`` hands it to
gearmand when it falls due; it never runs before its time."""

from __future__ import annotations

from datetime import datetime

from tests.tasks.support import TasksProject, function_of


def test_a_deferred_task_runs_after_its_time_not_before(project: TasksProject) -> None:
    project.start_worker("-w", "1", function=function_of("mark"))
    deferred = project.enqueue("mark", "deferred", run_after_in=3)
    run_after = datetime.fromisoformat(deferred["task"]["run_after"]).timestamp()
    assert project.finished(deferred["id"], wait=0)["status"] == "READY"
    project.start_scheduler()
    finished = project.finished(deferred["id"], wait=60)
    assert finished["status"] == "SUCCESSFUL" and finished["return_value"] == "deferred"
    assert finished["task"]["run_after"] == deferred["task"]["run_after"]
    [ran] = [e for e in project.events("ran") if e["label"] == "deferred"]
    assert ran["at"] >= run_after
    assert datetime.fromisoformat(finished["started_at"]).timestamp() >= run_after
