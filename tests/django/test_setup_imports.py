"""What ``django.setup()`` imports in a project with django_gearman installed, in a fresh process.

``AppConfig.ready`` imports ``checks`` in every Django process (web, ``migrate``, ``shell``);
the call codec (``calls``, which builds the pydantic schemas) is imported only when the checks
run. (pydantic itself is still imported: ``conf`` reads its size limits from
``serializers.envelope``, and the ``serializers`` package imports its pydantic-backed modules.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.django.support import ROOT

PROBE = """
import json, sys
import django
django.setup()
before = {name: name in sys.modules for name in NAMES}
from django.core import checks
checks.run_checks(tags=["gearman"])
after = {name: name in sys.modules for name in NAMES}
print(json.dumps([before, after]))
"""
NAMES = ["django_gearman.checks", "django_gearman.declaration", "django_gearman.calls"]


def test_setup_registers_the_checks_without_importing_the_call_codec() -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"NAMES = {NAMES!r}\n{PROBE}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == {
        "django_gearman.checks": True,  # registered by AppConfig.ready
        "django_gearman.declaration": True,  # the apps' gearman_jobs modules declare jobs
        "django_gearman.calls": False,
    }
    assert after["django_gearman.calls"]  # the schema check (E006) needs it, and loads it
