"""A sqlite ledger written by jobs in worker processes and read by the tests.

Each run of a job adds a ``start`` row when it begins and a ``done`` row when its work is done
(just before it returns). A SIGKILL between the two leaves a start without a done; a kill after
the done row but before gearmand got WORK_COMPLETE makes gearmand run the job again, which shows
as two done rows for one key: the at-least-once duplicate.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

_connections: dict[tuple[int, str], sqlite3.Connection] = {}


def create(path: Path) -> Path:
    """An empty ledger in WAL mode (several worker processes write at once)."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE runs (key TEXT NOT NULL, pid INTEGER NOT NULL, phase TEXT NOT NULL)"
        )
    return path


def _connection(path: str) -> sqlite3.Connection:
    """One connection per process and ledger (a forked child never reuses its parent's)."""
    key = (os.getpid(), path)
    db = _connections.get(key)
    if db is None:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        _connections[key] = db
    return db


def write(path: str, key: str, phase: str) -> int:
    """Add a row; returns how many rows of this phase the key now has (the attempt number)."""
    db = _connection(path)
    db.execute("INSERT INTO runs VALUES (?, ?, ?)", (key, os.getpid(), phase))
    row = db.execute(
        "SELECT count(*) FROM runs WHERE key = ? AND phase = ?", (key, phase)
    ).fetchone()
    return int(row[0])


def counts(path: Path, phase: str) -> Counter[str]:
    """Rows per key for one phase."""
    with sqlite3.connect(path, timeout=30) as db:
        rows = db.execute("SELECT key, count(*) FROM runs WHERE phase = ? GROUP BY key", (phase,))
        return Counter({key: int(n) for key, n in rows})


def pids(path: Path, key: str, phase: str = "start") -> list[int]:
    """The pids that wrote ``phase`` rows for ``key``, in order."""
    with sqlite3.connect(path, timeout=30) as db:
        rows = db.execute(
            "SELECT pid FROM runs WHERE key = ? AND phase = ? ORDER BY rowid", (key, phase)
        )
        return [int(pid) for (pid,) in rows]
