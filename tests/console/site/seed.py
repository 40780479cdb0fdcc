"""Records written the way the client and a worker write them, for tests that need a given
history at once (hundreds of finished jobs, an old failure) rather than waiting for workers."""

from __future__ import annotations

import datetime as dt
import traceback
import uuid
from typing import Any

from django.utils import timezone

from django_gearman import registry, store
from django_gearman.calls import job_spec
from django_gearman.models import JobRecord, ResultStatus


def call_envelope(job_name: str, *args: Any, **kwargs: Any) -> bytes:
    """The call envelope the client would send for this job (validated, signed if configured)."""
    job = registry.get(job_name)
    blob: bytes = job_spec(job).encode_call(args, kwargs)
    return blob


def failed(job_name: str, *args: Any, minutes_ago: float = 1.0, **kwargs: Any) -> str:
    """A FAILED record with the error and traceback of a real exception."""
    record_id = uuid.uuid4()
    store.insert(record_id, job_name=job_name, call=call_envelope(job_name, *args, **kwargs))
    try:
        raise FileNotFoundError(f"{args[0] if args else 'input'} does not exist yet")
    except FileNotFoundError as exc:
        text = "".join(traceback.format_exception(exc))
        error_type = "FileNotFoundError"
        message = str(exc)
    finished = timezone.now() - dt.timedelta(minutes=minutes_ago)
    JobRecord.objects.filter(pk=record_id).update(
        status=ResultStatus.FAILED,
        attempts=1,
        started_at=finished - dt.timedelta(seconds=0.25),
        finished_at=finished,
        enqueued_at=finished - dt.timedelta(seconds=1),
        released_at=finished - dt.timedelta(seconds=1),
        worker="test-host:4242",
        error_type=error_type,
        error_message=message,
        traceback=text,
    )
    return record_id.hex


def history(job_names: list[str], count: int, *, fail_every: int = 7) -> int:
    """``count`` finished records spread over the last 10 minutes (every n-th failed)."""
    now = timezone.now()
    calls = {name: call_envelope(name, "x") for name in job_names}
    rows = []
    for number in range(count):
        name = job_names[number % len(job_names)]
        finished = now - dt.timedelta(seconds=number * 600 / max(count, 1))
        failed_one = number % fail_every == 0
        rows.append(
            JobRecord(
                id=uuid.uuid4(),
                job_name=name,
                queue="imports",
                status=ResultStatus.FAILED if failed_one else ResultStatus.SUCCESSFUL,
                enqueued_at=finished - dt.timedelta(seconds=2),
                released_at=finished - dt.timedelta(seconds=2),
                started_at=finished - dt.timedelta(seconds=1 + number % 5 * 0.3),
                finished_at=finished,
                attempts=1,
                worker="test-host:4242",
                call=calls[name],
                error_type="ValueError" if failed_one else "",
                error_message="bad row" if failed_one else "",
            )
        )
    JobRecord.objects.bulk_create(rows, batch_size=500)
    return count


def queued(job_name: str, *args: Any, **kwargs: Any) -> str:
    """A READY record whose job gearmand holds (inserted, sent in the background, noted)."""
    from django_gearman.client import default_client

    record_id = uuid.uuid4()
    call = call_envelope(job_name, *args, **kwargs)
    store.insert(record_id, job_name=job_name, call=call, queue=registry.get(job_name).queue)
    result = default_client().transport.submit(
        registry.get(job_name).wire_name, call, unique=record_id.hex, background=True
    )
    store.note_sent(record_id, (result.handle or b"").decode(), result.server)
    return record_id.hex
