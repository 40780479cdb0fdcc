"""Payload budgets: a warning (a log line and a counter) before the hard size limit refuses.

``GEARMAN_MAX_PAYLOAD_SIZE`` refuses an envelope outright. A job's ``payload_budget`` (default:
80% of that limit) is the size past which a payload is still sent (or run), but logged on the
``django_gearman.budgets`` logger and counted: by the sender of calls, results and progress
data, and by the worker for each call it receives (from any language), so growth is seen before
calls start failing.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping

log = logging.getLogger("django_gearman.budgets")

DEFAULT_BUDGET_SHARE = 0.8  # of GEARMAN_MAX_PAYLOAD_SIZE, when a job declares no budget

_over_budget: Counter[str] = Counter()
_lock = threading.Lock()


def effective_budget(declared: int | None, hard_limit: int) -> int:
    """The budget of a job: its own, else a share of the hard limit (never above the limit)."""
    budget = declared if declared is not None else int(hard_limit * DEFAULT_BUDGET_SHARE)
    return min(budget, hard_limit)


def check_budget(
    job: str, size: int, budget: int, hard_limit: int, direction: str = "sent"
) -> None:
    """Log and count a payload of ``size`` bytes over ``budget`` (the hard limit refuses later);
    ``direction`` is ``sent`` (a client's call, a worker's result) or ``received`` (a call as a
    worker got it, from any language)."""
    if size <= budget:
        return
    with _lock:
        _over_budget[job] += 1
    log.warning(
        "job=%s %s payload of %d bytes is over its budget of %d bytes (the limit is %d)",
        job,
        direction,
        size,
        budget,
        hard_limit,
        extra={"job_name": job, "payload_bytes": size, "payload_budget": budget},
        stacklevel=2,
    )
    from .. import tracing  # deferred: only payloads over budget pay for the lookup

    tracing.count_over_budget(job, size)


def over_budget_counts() -> Mapping[str, int]:
    """Payloads over budget per job name in this process, since it started (a metric to export)."""
    with _lock:
        return dict(_over_budget)
