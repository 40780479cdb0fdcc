"""What ``make test`` and ``make demo`` do to the machine: only what they must.

Both run ``scripts/setup.sh`` first. It installs into a project virtualenv (never the machine's own
python) and leaves the services a user runs alone (the tests and the demo use private ports).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "setup.sh"

# Any way of stopping, disabling or restarting a system service from a shell script.
SERVICE_CONTROL = re.compile(
    r"\b(service\s+\S+\s+(stop|restart)|systemctl\s+(stop|disable|mask|restart)|"
    r"invoke-rc\.d\s+\S+\s+(stop|restart)|pkill|killall)\b"
)


def make_dry_run(target: str) -> list[str]:
    out = subprocess.run(
        ["make", "-n", "-s", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def test_make_test_and_demo_run_from_the_project_virtualenv() -> None:
    for target, command in (("test", "-m pytest"), ("demo", "scripts/demo.py")):
        lines = [line for line in make_dry_run(target) if command in line]
        assert lines, f"make {target} runs no {command!r}"
        assert all(line.startswith(".venv/bin/python ") for line in lines), lines


def test_setup_installs_python_packages_only_into_the_virtualenv() -> None:
    text = SETUP.read_text()
    pip_lines = [line for line in text.splitlines() if "pip install" in line and "echo" not in line]
    assert pip_lines, "setup.sh installs no Python packages"
    assert all('"$PY" -m pip install' in line for line in pip_lines), pip_lines
    assert 'PY="$VENV/bin/python"' in text
    assert '-m venv "$VENV"' in text


def test_setup_never_stops_or_restarts_a_service() -> None:
    found = [
        line
        for line in SETUP.read_text().splitlines()
        if SERVICE_CONTROL.search(line.split("#")[0])
    ]
    assert found == []


def test_setup_keeps_new_packages_from_starting_their_services() -> None:
    text = SETUP.read_text()
    assert "policy-rc.d" in text and "exit 101" in text
    # The temporary policy is removed again, and only if setup made it.
    assert 'if [ -n "$made_policy" ]; then $SUDO rm -f "$policy"' in text
