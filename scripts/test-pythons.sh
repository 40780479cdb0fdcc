#!/usr/bin/env bash
# Runs the Python suites (payloads, transport, Django, reliability, tasks, lifecycle, contracts) on
# the other interpreters that pyenv provides on this kind of machine: 3.12 and 3.13, each in its own
# venv with the newest Django that pip resolves for it (Django 6.x). The main run (make test) covers 3.11 + Django 5.2 LTS.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for version in ${PYTHONS:-3.12.1 3.13.0}; do
  python="${PYENV_ROOT:-/root/.pyenv}/versions/$version/bin/python"
  if [ ! -x "$python" ]; then
    echo "test-pythons: Python $version is not installed at $python" >&2
    status=1
    continue
  fi
  venv=".venv-$version"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
  echo "test-pythons: Python $version, Django $("$venv/bin/python" -c 'import django; print(django.__version__)')"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider \
      tests/serializers tests/protocol tests/django tests/reliability tests/tasks \
      tests/lifecycle tests/contracts || status=1
done
exit $status
