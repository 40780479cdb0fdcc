"""RQ's trivial job: RQ enqueues a function by its import path."""

from __future__ import annotations


def echo(text: str) -> str:
    """Return the argument."""
    return text
