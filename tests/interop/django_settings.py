"""The example project's settings with request signing on (key k1), for the signed interop tests."""

from gearman_example.settings import *  # noqa: F403

GEARMAN_SIGNING_KEYS = {"k1": "interop-django-secret-0001"}
GEARMAN_SIGNING_KEY_ID = "k1"
