"""Benchmarks of django-gearman against pygearman, the C tools and a raw-socket ceiling.

``python3 -m bench`` runs everything (``--smoke`` for a short CI run); see ``bench/runner.py``.
"""
