"""Connects the receivers that report django.tasks' signals as events (in every process)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class TasksAppConfig(AppConfig):
    name = "tests.tasks.tasks_app"
    label = "tasks_app"

    def ready(self) -> None:
        from django_gearman.tasks.compat import task_enqueued, task_finished, task_started

        from .events import record_event

        def report(signal_name: str) -> Any:
            def receiver(sender: type, task_result: Any, **kwargs: Any) -> None:
                record_event(
                    signal_name,
                    task_result.task.module_path,
                    id=task_result.id,
                    status=str(task_result.status),
                    sender=f"{sender.__module__}.{sender.__qualname__}",
                    errors=[e.exception_class_path for e in task_result.errors],
                )

            return receiver

        for name, signal in (
            ("task_enqueued", task_enqueued),
            ("task_started", task_started),
            ("task_finished", task_finished),
        ):
            signal.connect(report(name), weak=False, dispatch_uid=f"tests.tasks.{name}")
