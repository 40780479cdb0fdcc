"""Settings of the worker subprocesses of the hostile-input tests: signing on, pickle job installed.

With GEARMAN_SIGNING_KEYS set, GEARMAN_REQUIRE_SIGNATURE defaults to True: every call must carry
a valid signature, which is the configuration a pickle job needs (system check E003 otherwise).
"""

from tests.reliability.keys import SIGNING_KEYS
from tests.reliability.settings import *  # noqa: F403

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_gearman",
    "tests.reliability.hostile_app",
]
GEARMAN_SIGNING_KEYS = SIGNING_KEYS
