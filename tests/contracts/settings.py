"""Settings of the contract tests' worker and manage.py subprocesses.

TEST_CONTRACTS_APP names one app of tests/contracts/deploys (a deploy of ``deploy.place``);
TEST_CONTRACTS_SPANS names a file: the process then runs OpenTelemetry's SDK with its in-memory
exporter and writes every finished span there as JSON lines (tests.contracts.span_dump).
"""

import os

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_gearman",
    "tests.contracts.contract_jobs",
]
if os.environ.get("TEST_CONTRACTS_APP"):
    INSTALLED_APPS.append("tests.contracts.deploys." + os.environ["TEST_CONTRACTS_APP"])
    INSTALLED_APPS.remove("tests.contracts.contract_jobs")

if os.environ.get("TEST_CONTRACTS_SPANS"):
    from tests.contracts.span_dump import install

    install(os.environ["TEST_CONTRACTS_SPANS"])
