"""Unique ids: the one place that decides what a job's Gearman unique id is.

gearmand coalesces jobs with the same unique id, and its persistent queues key their rows by
(unique, function). The size limit is the transport's (``MAX_UNIQUE_SIZE``), so a caller's id is
refused here, with the reason, rather than truncated by gearmand.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets

from .protocol import MAX_UNIQUE_SIZE

_prefix = ""
_counter = itertools.count(1)


def _new_prefix() -> None:
    """Draw this process's random id prefix (128 bits) and restart its counter: at import, and
    in every forked child, which would otherwise repeat its parent's ids."""
    global _prefix, _counter
    _counter = itertools.count(1)
    _prefix = secrets.token_hex(16) + "-"


_new_prefix()
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_prefix)


def random_unique() -> str:
    """An id no other job gets: the process's random prefix plus a counter (``next`` on an
    ``itertools.count`` is atomic, so threads never share a number). 33 characters plus the
    counter's digits (20 at most for 2**64 jobs): within gearmand's limit."""
    return _prefix + str(next(_counter))


def unique_id(
    unique: str | bool | None, *, background: bool, wire_name: str, payload: bytes
) -> str | None:
    """The unique id sent to gearmand for a call of ``wire_name`` with ``payload``.

    ``True`` derives it from the function name and the encoded call, so equal calls coalesce (a
    192-bit digest: short enough for gearmand). Without one, a background job still gets an id of
    its own (``random_unique``): two background jobs with an empty id would overwrite each other
    in a persistent queue store.
    """
    if unique is None or unique is False:
        return random_unique() if background else None
    if unique is True:
        return hashlib.blake2b(wire_name.encode() + b"\n" + payload, digest_size=24).hexdigest()
    if not isinstance(unique, str):
        raise TypeError(f"unique must be a string or True, not {type(unique).__name__}")
    size = len(unique.encode())
    if not 0 < size <= MAX_UNIQUE_SIZE or "\0" in unique:
        raise ValueError(
            f"unique must be 1 to {MAX_UNIQUE_SIZE} bytes without NUL (gearmand truncates longer "
            f"ids), not {size} bytes"
        )
    return unique
