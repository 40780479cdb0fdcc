"""django.tasks priorities (-100..100, higher runs first) on Gearman's three priorities.

Gearman has HIGH, NORMAL and LOW queues per function, and a worker always takes the oldest job of
the highest non-empty one. The mapping keeps the order around the default (0), which is where it
matters: any positive priority is ``high``, 0 is ``normal``, any negative one is ``low``. Within
one Gearman priority, jobs run in the order gearmand hands them out (first in, first out per
server), whatever their django.tasks priority.
"""

from __future__ import annotations

from django_gearman.protocol import Priority


def gearman_priority(priority: int) -> str:
    """``high`` (1..100), ``normal`` (0) or ``low`` (-100..-1), as ``using(priority=...)``."""
    if priority > 0:
        return "high"
    if priority < 0:
        return "low"
    return "normal"


def wire_priority(priority: int) -> Priority:
    """The transport's ``Priority`` of a django.tasks priority (``gearman_priority``'s name)."""
    return Priority[gearman_priority(priority).upper()]
