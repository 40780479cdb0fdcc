"""Settings of the worker subprocesses of the fault and load tests (no signing).

Only the fault jobs are installed, so the worker serves exactly what these tests submit. Every
logger writes to stderr at DEBUG: the worker's whole log lands in its log file, where tests can
search it (e.g. for a leaked secret).
"""

SECRET_KEY = "reliability-tests-only"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_gearman",
    "tests.reliability.faults_app",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
GEARMAN_SERVERS = ["127.0.0.1:4730"]  # always overridden by --servers
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "DEBUG"},
}
