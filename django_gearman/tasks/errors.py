"""An exception as django.tasks reports it: ``TaskError`` (class path and traceback).

The class path is ``module.QualName`` for every class, builtins included (``builtins.ValueError``),
as Django's own backends write it, so ``TaskError.exception_class`` can import it. Texts are
bounded: the tail of a long traceback is kept, where its cause is.
"""

from __future__ import annotations

import traceback as tb
from collections.abc import Mapping
from typing import Any

from .compat import TaskError

MAX_TRACEBACK = 64 * 1024
MAX_MESSAGE = 8 * 1024


def class_path(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def cut(text: str, limit: int) -> str:
    """``text``, or its last ``limit`` characters after a note of what was cut."""
    if len(text) <= limit:
        return text
    return f"...[{len(text) - limit} characters cut]...\n{text[-limit:]}"


def message_of(exc: BaseException) -> str:
    try:
        return cut(str(exc), MAX_MESSAGE)
    except Exception:
        return f"<{type(exc).__name__}: unprintable message>"


def traceback_of(exc: BaseException) -> str:
    return cut("".join(tb.format_exception(exc)), MAX_TRACEBACK)


def task_error(exc: BaseException) -> TaskError:
    return TaskError(exception_class_path=class_path(exc), traceback=traceback_of(exc))


def stored_error(type_name: str, traceback: str) -> TaskError:
    """A ``TaskError`` from a stored error type (``ValueError`` from a ``@gearman_job`` record
    is ``builtins.ValueError``)."""
    path = type_name if "." in type_name else f"builtins.{type_name or 'Exception'}"
    return TaskError(exception_class_path=path, traceback=traceback)


def earlier_errors(attempt_errors: Any) -> list[TaskError]:
    """The errors of earlier attempts, as the lifecycle's retries record them."""
    if not isinstance(attempt_errors, list):
        return []
    return [
        stored_error(str(item.get("type", "")), str(item.get("traceback", "")))
        for item in attempt_errors
        if isinstance(item, Mapping)
    ]
