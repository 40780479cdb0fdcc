"""Helpers of the contract tests: manage.py subprocesses with the contract settings."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.django.support import ROOT

SETTINGS = "tests.contracts.settings"
COMMAND_TIMEOUT = 120.0


def contract_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess with the contract settings (plus ``extra``)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py ARGS`` with the contract settings; bounded in time."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=contract_env(**env),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
