"""``django_gearman.tasks.wait``: a client process waits for a task run by a real worker.

While gearmand holds the task's job the wait is told of its end by the job's WORK_COMPLETE (it
attaches to the job), so it reads the record only before and after; a task gearmand does not
hold (deferred) is waited for by re-reading the record at growing intervals, bounded in count
and time; an attachment that comes after the end never runs the task a second time.
"""

from __future__ import annotations

from typing import Any

from tests.tasks.support import TASKS, TasksProject

WAIT_ERROR = "django_gearman.tasks.waiting.TaskWaitTimeout"


def _wait(project: TasksProject, name: str, *args: object, **request: Any) -> dict[str, Any]:
    return project.client("wait", task=f"{TASKS}.{name}", args=repr(args), **request)


def test_a_wait_is_told_by_the_job_and_reads_the_record_twice(served: TasksProject) -> None:
    # sleeping 0.3 s: a wait that re-read the record from 1 ms to 50 ms would read it ~12 times
    waited = _wait(served, "sleepy_async", 0.3, timeout=30)
    assert waited["wait_error"] is None
    assert waited["status"] == "SUCCESSFUL" and waited["return_value"] == "awake"
    assert 1 <= waited["queries"] <= 3, waited


def test_a_finished_result_is_read_once(served: TasksProject) -> None:
    first = _wait(served, "add", 2, 3, timeout=30)
    assert first["return_value"] == 5
    again = served.client("wait", id=first["id"], timeout=30)
    assert again["wait_error"] is None and again["return_value"] == 5
    assert again["queries"] == 1


def test_a_deferred_task_times_out_with_bounded_reads_and_is_not_sent(
    served: TasksProject,
) -> None:
    waited = _wait(served, "add", 1, 2, run_after_in=60, timeout=0.3)
    assert waited["wait_error"] == WAIT_ERROR
    assert waited["status"] == "READY"  # the task itself goes on: it is still held
    assert 2 <= waited["queries"] <= 20, waited
    later = served.finished(str(waited["id"]), wait=0.5)
    assert later["status"] == "READY" and later["worker_ids"] == []  # no worker was given it


def test_an_attachment_after_the_end_does_not_run_the_task_again(served: TasksProject) -> None:
    waited = _wait(served, "add", 4, 5, timeout=30, attach_again=True)
    assert waited["status"] == "SUCCESSFUL" and waited["return_value"] == 9
    assert waited["attempts"] == 1, waited  # the new job the attachment made was skipped


def test_a_bad_timeout_is_a_value_error(served: TasksProject) -> None:
    for timeout in (-1, "soon", None):
        waited = _wait(served, "add", 1, 1, timeout=timeout)
        assert waited["wait_error"] == "builtins.ValueError", waited
        assert waited["queries"] == 0  # refused before anything was read
