"""Evidence from worker processes: one JSON line per event in ``$TEST_TASKS_EVENTS``.

Tasks and the worker's ``task_started``/``task_finished`` receivers append here, so a test in
another process can see what ran, in which order, and which signals were sent.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

EVENTS_VARIABLE = "TEST_TASKS_EVENTS"


def record_event(kind: str, label: str, **details: Any) -> None:
    path = os.environ.get(EVENTS_VARIABLE)
    if not path:
        return
    moment = time.time()
    line = json.dumps({"kind": kind, "label": label, "pid": os.getpid(), "at": moment, **details})
    with open(path, "a") as events:
        events.write(line + "\n")


def read_events(path: str) -> list[dict[str, Any]]:
    try:
        with open(path) as events:
            return [json.loads(line) for line in events if line.strip()]
    except FileNotFoundError:
        return []
