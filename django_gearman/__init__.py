"""django-gearman: Gearman jobs for Django projects.

This module must stay importable without Django settings and without importing Django itself, so
that ``django_gearman.protocol`` (pure Gearman, no Django) can be used on its own. Public names are
therefore loaded lazily on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import GearmanClient
    from .compat import RESERVED_KEYWORDS, Task
    from .declaration import GearmanJob, StoredJob, gearman_job, registry
    from .exceptions import (
        ConfigurationError,
        DuplicateJobName,
        GearmanJobError,
        JobFailed,
        JobLost,
        JobNotFound,
        JobRefused,
        JobSkipped,
        NotNegotiable,
        ReservedKeywordConflict,
    )
    from .models import ResultStatus
    from .reporting import JobContext, current_job, progress
    from .results import (
        ResultDoesNotExist,
        ResultMismatch,
        ResultNotReady,
        ResultTimeout,
        StoredError,
        StoredResult,
        cancel,
    )
    from .retries import Retry

_PUBLIC: dict[str, str] = {
    "gearman_job": ".declaration",
    "GearmanJob": ".declaration",
    "registry": ".declaration",
    "StoredJob": ".declaration",
    "GearmanClient": ".client",
    "Task": ".compat",
    "RESERVED_KEYWORDS": ".compat",
    "current_job": ".reporting",
    "progress": ".reporting",
    "JobContext": ".reporting",
    "GearmanJobError": ".exceptions",
    "ConfigurationError": ".exceptions",
    "DuplicateJobName": ".exceptions",
    "JobFailed": ".exceptions",
    "JobLost": ".exceptions",
    "JobNotFound": ".exceptions",
    "JobRefused": ".exceptions",
    "NotNegotiable": ".exceptions",
    "ReservedKeywordConflict": ".exceptions",
    "JobSkipped": ".exceptions",
    "StoredResult": ".results",
    "StoredError": ".results",
    "ResultDoesNotExist": ".results",
    "ResultMismatch": ".results",
    "ResultNotReady": ".results",
    "ResultTimeout": ".results",
    "cancel": ".results",
    "ResultStatus": ".models",
    "Retry": ".retries",
}

__all__ = [
    "RESERVED_KEYWORDS",
    "ConfigurationError",
    "DuplicateJobName",
    "GearmanClient",
    "GearmanJob",
    "GearmanJobError",
    "JobContext",
    "JobFailed",
    "JobLost",
    "JobNotFound",
    "JobRefused",
    "JobSkipped",
    "NotNegotiable",
    "ReservedKeywordConflict",
    "ResultDoesNotExist",
    "ResultMismatch",
    "ResultNotReady",
    "ResultStatus",
    "ResultTimeout",
    "Retry",
    "StoredError",
    "StoredJob",
    "StoredResult",
    "Task",
    "cancel",
    "current_job",
    "gearman_job",
    "progress",
    "registry",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use (keeps ``import`` Django-free)."""
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module 'django_gearman' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
