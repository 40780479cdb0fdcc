"""What an operator does to job records: retry, cancel, purge. Shared by the admin's actions and
the ``gearman_retry`` / ``gearman_cancel`` commands, so both behave exactly alike.

A retry is a new record linked to the old one (``retry_of``) with the same call: the stored call
envelope is verified, given the new record's id (header field ``id``), signed again with the
current key and sent as a background job. The old record is left as it was.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from serializers import SerializerError, SigningKey, decode, default_registry, encode

from .envelopes import reading_policy

RETRYABLE = ("FAILED", "CANCELLED")
PRIORITY_NAMES = ("high", "normal", "low")


class RetryRefused(Exception):
    """This record cannot be retried (wrong status, unreadable call, nothing was sent).

    Nothing was submitted; the old record is unchanged (a new record, if one was written before
    sending failed, is FAILED with the reason)."""


@dataclass(frozen=True, slots=True)
class Retried:
    original: uuid.UUID
    new: uuid.UUID
    handle: str
    server: str


def readdressed_call(call: bytes, job_name: str, new_id: uuid.UUID) -> bytes:
    """The same call for another record: verified, re-encoded with ``id=new_id``, re-signed."""
    from django_gearman.conf import get_settings

    current = get_settings()
    function = current.wire_name(job_name)
    try:
        decoded = decode(call, reading_policy(), job=function)
        key_id = current.signing_key_id
        signing_key = (
            SigningKey(key_id, current.signing_keys[key_id]) if key_id is not None else None
        )
        return encode(
            decoded.value,
            default_registry.by_content_type(decoded.content_type),
            job=function,
            signing_key=signing_key,
            compress="zlib" if decoded.content_encoding == "zlib" else None,
            compress_min_bytes=0,
            accept=decoded.accept,
            schema=decoded.schema,
            fields={**decoded.fields, "id": new_id.hex},
        )
    except SerializerError as exc:
        problem = f"{type(exc).__name__}: {exc}"
        raise RetryRefused(f"the stored call cannot be read again: {problem}") from exc


def _priority(name: str) -> object:
    from django_gearman.protocol import Priority

    return Priority[name.upper()] if name in PRIORITY_NAMES else Priority.NORMAL


def retry(record_id: uuid.UUID) -> Retried:
    """Submit the call of a FAILED or CANCELLED record again, as a new linked record."""
    from django_gearman import store
    from django_gearman.client import default_client
    from django_gearman.conf import get_settings
    from django_gearman.models import JobRecord
    from django_gearman.protocol import GearmanError

    record = JobRecord.objects.filter(pk=record_id).first()
    if record is None:
        raise RetryRefused(f"no job record {record_id}")
    if record.status not in RETRYABLE:
        raise RetryRefused(
            f"job record {record_id} is {record.status}; only failed or cancelled jobs are retried"
        )
    new_id = uuid.uuid4()
    call = readdressed_call(bytes(record.call), record.job_name, new_id)
    store.insert(
        new_id,
        job_name=record.job_name,
        call=call,
        queue=record.queue,
        priority=record.priority,
        max_attempts=record.max_attempts,
        task_priority=record.task_priority,
        backend=record.backend,
        retry_of=record.id,
    )
    try:
        result = default_client().transport.submit(
            get_settings().wire_name(record.job_name),
            call,
            unique=new_id.hex,
            priority=_priority(record.priority),  # type: ignore[arg-type]
            background=True,
        )
    except (GearmanError, OSError) as exc:
        store.note_not_sent(new_id, exc)
        raise RetryRefused(f"the retry of {record_id} could not be sent: {exc}") from exc
    handle = (result.handle or b"").decode("ascii", "replace")
    store.note_sent(new_id, handle, result.server)
    _announce(new_id, handle)
    return Retried(record.id, new_id, handle, result.server)


def _announce(record_id: uuid.UUID, handle: str) -> None:
    """``job_enqueued``, as for any dispatched stored job (sender: the job, if defined here)."""
    from django_gearman import registry
    from django_gearman.models import JobRecord
    from django_gearman.results import StoredResult
    from django_gearman.signals import job_enqueued

    if not job_enqueued.receivers:
        return
    record = JobRecord.objects.get(pk=record_id)
    job = registry.find(record.job_name)
    job_enqueued.send(sender=job, handle=handle, result=StoredResult.from_record(record, job))


def cancel(record_id: uuid.UUID) -> bool:
    """Cancel a job that has not started (record and gearmand queue); False if it has."""
    from django_gearman.results import cancel as cancel_result

    return cancel_result(record_id)


def purgeable(older_than: dt.timedelta, now: dt.datetime | None = None) -> Iterable[uuid.UUID]:
    """Ids of finished records (successful, failed, cancelled) that finished before the cutoff."""
    from django_gearman.models import FINISHED_STATUSES, JobRecord

    cutoff = (now or timezone.now()) - older_than
    return JobRecord.objects.filter(
        status__in=FINISHED_STATUSES, finished_at__lt=cutoff
    ).values_list("pk", flat=True)
