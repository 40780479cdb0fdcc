"""Fixtures of the task tests: one project (gearmand, result store, worker) per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.gearmand import Gearmand
from tests.tasks.support import TasksProject, function_of


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TasksProject]:
    """gearmand and a migrated store; tests start the workers they need."""
    server = Gearmand(workdir=tmp_path_factory.mktemp("gearmand"))
    server.start()
    tasks_project = TasksProject(server, tmp_path_factory.mktemp("tasks-project"))
    try:
        tasks_project.migrate()
        yield tasks_project
    finally:
        tasks_project.stop_workers()
        server.stop()


@pytest.fixture(scope="module")
def served(project: TasksProject) -> TasksProject:
    """The project with one supervisor (2 processes) serving every task and job."""
    project.start_worker("-w", "2", function=function_of("add"), count=2)
    return project
