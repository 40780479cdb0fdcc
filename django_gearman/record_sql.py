"""The store's statements of every stored job as plain SQL, built once per database.

``QuerySet.update``, ``create`` and ``first`` build, resolve and compile their query on every
call: measured at 0.3-0.6 ms of CPU per query, three to five times the statement itself, and
every job pays it four times for its writes (the client's insert and handle, the worker's start
and finish) and once per read of its record (a wait, a task's start). These are the same
INSERT, compare-and-set UPDATEs and primary-key SELECT as the ORM's (same columns, same
conditions), their SQL written once per database alias with the connection's quoting, their
parameters adapted by the model's own fields (``get_db_prep_save``) and their results by the
backend's and the fields' converters (as the ORM's compiler applies them), and run through
Django's cursor: query logging, execute wrappers, routers and the rollback marking of
``atomic`` blocks work as for any query.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.models.expressions import Col

from .models import JobRecord

_META = JobRecord._meta
T = TypeVar("T")


def _per_database(build: Callable[[str], T]) -> Callable[[str], T]:
    """``build(alias)`` once per alias and database engine (the SQL depends on the engine's
    quoting, and a test may point an alias at another engine)."""
    built: dict[tuple[str, str], T] = {}

    @functools.wraps(build)
    def cached(alias: str) -> T:
        key = (alias, str(connections[alias].settings_dict["ENGINE"]))
        found = built.get(key)
        if found is None:
            found = built[key] = build(alias)
        return found

    return cached


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement on ``JobRecord``'s table (INSERT, UPDATE or SELECT): ``sql`` with a ``%s``
    per entry of ``fields`` (the model field whose type adapts that parameter; for the SELECT,
    the attributes its columns fill)."""

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


@_per_database
def _insert(alias: str) -> Statement:
    quote = connections[alias].ops.quote_name
    fields = _META.concrete_fields
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(_META.db_table)} ({columns}) VALUES ({placeholders})"
    return Statement(sql, tuple(field.name for field in fields))


@_per_database
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


@_per_database
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


@_per_database
def note_sent(alias: str) -> Statement:
    """The Gearman handle and server of a background job (``handle``, ``server``, ``id``)."""
    return _update(alias, "{handle} = %s, {server} = %s", "{id} = %s", ("handle", "server", "id"))


def fetch(alias: str, record_id: Any) -> JobRecord | None:
    """The record ``record_id`` as ``JobRecord.objects.filter(pk=...).first()`` gives it."""
    connection = connections[alias]
    select = _select(alias)
    key = _META.pk.get_db_prep_value(record_id, connection, prepared=False)
    with connection.cursor() as cursor:
        cursor.execute(select.sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (column, converters) in zip(row, _readers(alias), strict=True):
        for convert in converters:
            value = convert(value, column, connection)
        values.append(value)
    return JobRecord.from_db(alias, select.fields, values)


@_per_database
def _select(alias: str) -> Statement:
    """``SELECT every column WHERE id = %s``; ``fields`` are the attribute names, in order."""
    quote = connections[alias].ops.quote_name
    fields = _META.concrete_fields
    columns = ", ".join(quote(str(field.column)) for field in fields)
    pk = quote(str(_META.pk.column))
    sql = f"SELECT {columns} FROM {quote(_META.db_table)} WHERE {pk} = %s"
    return Statement(sql, tuple(field.attname for field in fields))


_READERS: weakref.WeakKeyDictionary[Any, tuple[tuple[Col, tuple[Any, ...]], ...]] = (
    weakref.WeakKeyDictionary()
)


def _readers(alias: str) -> tuple[tuple[Col, tuple[Any, ...]], ...]:
    """Per column: its expression and the converters the ORM's compiler would apply, once per
    connection object (converters are the connection's own methods)."""
    connection = connections[alias]
    found = _READERS.get(connection)
    if found is None:
        columns = [field.get_col(_META.db_table) for field in _META.concrete_fields]
        found = _READERS[connection] = tuple(
            (
                column,
                tuple(
                    connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                ),
            )
            for column in columns
        )
    return found
