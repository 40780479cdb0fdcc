"""Priorities and queues on Gearman: ``-q`` selects the queues a worker serves, and tasks waiting
for a busy worker start in the order of their Gearman priority (high, normal, low)."""

from __future__ import annotations

from tests.django.support import wait_until
from tests.tasks.support import TASKS, TasksProject, function_of


def test_tasks_wait_for_a_worker_of_their_queue(project: TasksProject) -> None:
    project.start_worker("-w", "1", "-q", "emails", function=function_of("send_mail", "emails"))
    on_default = project.enqueue("add", 1, 2)
    on_emails = project.enqueue("send_mail", "ops@example.com")
    assert project.finished(on_emails["id"])["return_value"] == "sent to ops@example.com"
    assert project.finished(on_default["id"], wait=0.5)["status"] == "READY"
    project.start_worker("-w", "1", "-q", "default", function=function_of("add"))
    assert project.finished(on_default["id"])["return_value"] == 3


def test_waiting_tasks_start_in_priority_order(project: TasksProject) -> None:
    # The one "emails" worker process is held by `hold_until`; low, normal and high tasks queue.
    gate = project.directory / "gate"
    holder = project.enqueue("hold_until", str(gate), using={"queue_name": "emails"})
    wait_until(
        lambda: project.finished(holder["id"], wait=0)["status"] == "RUNNING",
        30,
        "the holding task to start",
    )
    labels = [("low-1", -100), ("normal", 0), ("high", 1), ("low-2", -1), ("top", 100)]
    items = [
        {
            "task": f"{TASKS}.mark",
            "args": repr((label,)),
            "using": {"queue_name": "emails", "priority": priority},
        }
        for label, priority in labels
    ]
    ids = [r["id"] for r in project.client("enqueue_many", items=items)["results"]]
    gate.touch()
    for result_id in ids:
        assert project.finished(result_id)["status"] == "SUCCESSFUL"
    ran = [e["label"] for e in project.events("ran")]
    assert ran == ["high", "top", "normal", "low-1", "low-2"]  # FIFO within a Gearman priority
    stored = project.finished(ids[-1])
    assert stored["task"]["priority"] == 100 and stored["task"]["queue_name"] == "emails"
