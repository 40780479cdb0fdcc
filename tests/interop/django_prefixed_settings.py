"""The signing settings plus a GEARMAN_JOB_NAME mapping, for the test of which name is signed."""

from tests.interop.django_settings import *  # noqa: F403

GEARMAN_JOB_NAME = "shop.{name}"
