"""``python -m bench.peers`` (``make bench-peers``): the same trivial job through django-gearman
and its alternatives (Celery, RQ, Dramatiq, django-tasks-db), side by side in one run.

The peers are a list of definitions (``bench.peers.peers.PEERS``); adding a row is adding one.
"""
