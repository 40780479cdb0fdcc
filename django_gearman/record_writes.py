"""The store's writes of every stored job as plain SQL statements, built once per database.

``QuerySet.update`` and ``create`` build, resolve and compile their query on every call:
measured at 0.3-0.6 ms of CPU per write, three to five times the statement itself, and every
job pays it four times (the client's insert and handle, the worker's start and finish). These
are the same INSERT and compare-and-set UPDATEs as the ORM's (same columns, same conditions),
their SQL written once per database alias with the connection's quoting, their parameters
adapted by the model's own fields (``get_db_prep_save``), and run through Django's cursor:
query logging, execute wrappers, routers and the rollback marking of ``atomic`` blocks work as
for any query.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction

from .models import JobRecord

_META = JobRecord._meta


@dataclass(frozen=True, slots=True)
class Statement:
    """One UPDATE of ``JobRecord``: ``sql`` with a ``%s`` per entry of ``fields`` (the model
    field whose type adapts that parameter)."""

    sql: str
    fields: tuple[str, ...]

    def run(self, alias: str, values: Sequence[Any]) -> int:
        """Execute with ``values`` (one per field) on ``alias``; the number of rows matched."""
        connection = connections[alias]
        params = [
            _META.get_field(name).get_db_prep_save(value, connection)  # type: ignore[union-attr]
            for name, value in zip(self.fields, values, strict=True)
        ]
        with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            return int(cursor.rowcount)


def _update(alias: str, assignments: str, condition: str, fields: tuple[str, ...]) -> Statement:
    """``UPDATE table SET assignments WHERE condition``, where ``{name}`` is the quoted column
    of field ``name`` and ``%s`` a parameter (of ``fields``, in order)."""
    quote = connections[alias].ops.quote_name
    columns = {field.name: quote(str(field.column)) for field in _META.concrete_fields}
    sql = f"UPDATE {quote(_META.db_table)} SET {assignments} WHERE {condition}"
    return Statement(sql.format(**columns), fields)


def insert(alias: str, record: JobRecord) -> None:
    """INSERT the unsaved ``record`` (every column, as ``save`` would) in ``alias``; it is then
    a saved instance of that database."""
    values = [getattr(record, field.attname) for field in _META.concrete_fields]
    _insert(alias).run(alias, values)
    record._state.adding = False
    record._state.db = alias


@functools.cache
def _insert(alias: str) -> Statement:
    quote = connections[alias].ops.quote_name
    fields = _META.concrete_fields
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(_META.db_table)} ({columns}) VALUES ({placeholders})"
    return Statement(sql, tuple(field.name for field in fields))


@functools.cache
def start(alias: str) -> Statement:
    """READY and released -> RUNNING for one worker (``status``, ``started_at``, ``worker``,
    ``handle``, ``id``, and the READY status to match)."""
    return _update(
        alias,
        "{status} = %s, {started_at} = %s, {finished_at} = NULL, {worker} = %s, "
        "{attempts} = {attempts} + 1, {handle} = %s",
        "{id} = %s AND {status} = %s AND {released_at} IS NOT NULL",
        ("status", "started_at", "worker", "handle", "id", "status"),
    )


@functools.cache
def finish_successful(alias: str) -> Statement:
    """-> SUCCESSFUL while the attempt is this worker's: RUNNING, or marked lost
    (``status``, ``finished_at``, ``result``, ``id``, ``worker``, RUNNING, FAILED, lost type)."""
    return _update(
        alias,
        "{status} = %s, {finished_at} = %s, {result} = %s, {error_type} = '', "
        "{error_message} = '', {traceback} = ''",
        "{id} = %s AND {worker} = %s AND ({status} = %s OR ({status} = %s AND {error_type} = %s))",
        ("status", "finished_at", "result", "id", "worker", "status", "status", "error_type"),
    )


@functools.cache
def note_sent(alias: str) -> Statement:
    """The Gearman handle and server of a background job (``handle``, ``server``, ``id``)."""
    return _update(alias, "{handle} = %s, {server} = %s", "{id} = %s", ("handle", "server", "id"))
