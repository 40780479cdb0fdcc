"""Django signals of a job's life, sent in the process where each event happens.

Like django.tasks' ``task_enqueued``/``task_started``/``task_finished``, but a Gearman job is
enqueued by a client and run by a worker, so ``job_enqueued`` is sent by the client after
gearmand accepted the job (after the commit for ``using(on_commit=True)``), and ``job_started``
and ``job_finished`` by the worker process around the job function. Every job sends them, stored
or not; with no receiver connected a send costs one attribute check.

The sender is the job object registered by ``@gearman_job`` (connect with
``sender=my_job``). Keyword arguments:

* ``job_enqueued``: ``handle`` (the Gearman handle; "" for a foreground job, which is sent after
  it finished), ``result`` (the ``StoredResult`` of a stored job, else ``None``).
* ``job_started``: ``handle``, ``job_id`` (the record id of a stored job, else ``None``),
  ``attempt`` (1 for the first attempt; 1 for every unstored job).
* ``job_finished``: ``handle``, ``job_id``, ``attempt``, ``status`` (a ``ResultStatus`` value:
  ``"SUCCESSFUL"``, ``"FAILED"``, or ``"READY"`` when a retry was scheduled), ``error`` (the
  exception, or ``None``). It is sent inside the exception handler of a failed job, so
  ``sys.exc_info()`` is the job's exception.
"""

from __future__ import annotations

from django.dispatch import Signal

job_enqueued = Signal()
job_started = Signal()
job_finished = Signal()

__all__ = ["job_enqueued", "job_finished", "job_started"]
