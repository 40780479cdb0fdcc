"""The documented wire form of a task, as a worker in another language sees it: the function
``<module path>@<queue>`` and a plain JSON envelope ``{"args": [], "kwargs": {"id", "args",
"kwargs"}}``. The worker here is the bare transport (no Django, no django-gearman codec)."""

from __future__ import annotations

import json
import threading

from django_gearman.protocol import Worker, WorkerJob
from tests.tasks.support import TasksProject, function_of


def test_a_foreign_worker_reads_the_task_call(project: TasksProject) -> None:
    received: list[bytes] = []
    worker = Worker([project.gearmand.address])

    def serve(job: WorkerJob) -> bytes:
        received.append(job.data)
        return b""

    worker.register(function_of("echo", "emails"), serve)
    thread = threading.Thread(target=worker.work, kwargs={"max_jobs": 1}, daemon=True)
    thread.start()
    try:
        enqueued = project.enqueue(
            "echo", 1, "two", kwargs={"three": [3]}, using={"queue_name": "emails"}
        )
        thread.join(30)
    finally:
        worker.stop()
        worker.close()
    assert not thread.is_alive() and len(received) == 1
    header, _, body = received[0].partition(b"\n")
    assert header.split()[:2] == [b"GME/1", b"ct=application/json"]
    assert json.loads(body) == {
        "args": [],
        "kwargs": {"id": enqueued["id"], "args": [1, "two"], "kwargs": {"three": [3]}},
    }
    # The foreign worker updated no record: the result stays READY (documented).
    assert project.finished(enqueued["id"], wait=0)["status"] == "READY"
