"""An exception as django.tasks reports it: ``TaskError`` (class path and traceback).

The class path is ``module.QualName`` for every class, builtins included (``builtins.ValueError``),
as Django's own backends write it, so ``TaskError.exception_class`` can import it. Texts are the
result store's (``store.ErrorInfo``: bounded, the tail of a long traceback kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django_gearman.store import ErrorInfo

from .compat import TaskError


def task_error(error: ErrorInfo) -> TaskError:
    return TaskError(exception_class_path=error.type, traceback=error.traceback)


def stored_error(type_name: str, traceback: str) -> TaskError:
    """A ``TaskError`` from a stored error type (``ValueError`` from a ``@gearman_job`` record
    is ``builtins.ValueError``)."""
    path = type_name if "." in type_name else f"builtins.{type_name or 'Exception'}"
    return TaskError(exception_class_path=path, traceback=traceback)


def earlier_errors(attempt_errors: Any) -> list[TaskError]:
    """The errors of earlier attempts (retries, a lost worker), as the store records them."""
    if not isinstance(attempt_errors, list):
        return []
    return [
        stored_error(str(item.get("type", "")), str(item.get("traceback", "")))
        for item in attempt_errors
        if isinstance(item, Mapping)
    ]
