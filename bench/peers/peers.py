"""The peers of the run, one definition each: **the extension point**.

A new row in every table is one more ``Peer`` in ``PEERS`` (as the rows of results stored in
SQLite or PostgreSQL and of our django.tasks backend were added): its key, label, what it
favours and what costs it, how to start N worker processes, and a ``PeerClient`` for its job.
The sections, tables, plots and targets pick it up unchanged; ``bench.peers.targets`` names
the keys its goals expect (``ours-results-sqlite``, ``ours-results-postgres``, ``ours-tasks``).
"""

from __future__ import annotations

from bench.peers.base import Peer
from bench.peers.celery_peer import CELERY_PREFORK, CELERY_SOLO
from bench.peers.dramatiq_peer import DRAMATIQ_DEFAULT, DRAMATIQ_PREFETCH
from bench.peers.gearman_peer import GEARMAN
from bench.peers.rq_peer import RQ_DEFAULT, RQ_SIMPLE
from bench.peers.stored_peer import STORED_POSTGRES, STORED_SQLITE
from bench.peers.tasks_db_peer import TASKS_DB
from bench.peers.tasks_gearman_peer import TASKS_GEARMAN

PEERS: list[Peer] = [
    GEARMAN,
    STORED_SQLITE,
    STORED_POSTGRES,
    CELERY_PREFORK,
    CELERY_SOLO,
    RQ_DEFAULT,
    RQ_SIMPLE,
    DRAMATIQ_DEFAULT,
    DRAMATIQ_PREFETCH,
    TASKS_DB,
    TASKS_GEARMAN,
]

BASELINE = GEARMAN.key  # the "ours / this" ratio column divides by this peer's rows
