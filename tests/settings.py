"""Django settings for the test suite. Tests that talk to gearmand override GEARMAN_SERVERS."""

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_gearman",
    "gearman_example",
    "tests.django.jobs_app",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
GEARMAN_SERVERS = ["127.0.0.1:4730"]
