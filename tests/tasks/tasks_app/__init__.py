"""Tasks used by the conformance tests (imported by autodiscovery as ``tasks_app.tasks``)."""
