"""Settings of the console test site. The environment gives the database file
(``CONSOLE_TEST_DB``), the servers (``GEARMAN_SERVERS``, comma-separated) and the keys
(``TEST_GEARMAN_SIGNING_KEYS``)."""

import json
import os

SECRET_KEY = "console-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]  # testserver: bench.console
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_gearman",
    "tests.console.site",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "tests.console.site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("CONSOLE_TEST_DB", ":memory:"),
        "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
GEARMAN_SERVERS = [s for s in os.environ.get("GEARMAN_SERVERS", "127.0.0.1:4730").split(",") if s]
GEARMAN_SIGNING_KEYS = json.loads(os.environ.get("TEST_GEARMAN_SIGNING_KEYS", "{}"))
GEARMAN_STORE_RESULTS = True
GEARMAN_CONSOLE_REFRESH = 2
GEARMAN_METRICS_TOKEN = "console-test-metrics-token"
