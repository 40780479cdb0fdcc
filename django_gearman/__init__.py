"""django-gearman: Gearman jobs for Django projects.

This module must stay importable without Django settings and without importing Django itself, so
that ``django_gearman.protocol`` (pure Gearman, no Django) can be used on its own. Public names are
therefore loaded lazily on first access.
"""
