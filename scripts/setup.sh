#!/usr/bin/env bash
# Installs everything the demo, the tests and the benchmarks need on a fresh machine of this kind
# (Debian + CPython). Idempotent and quick when everything is already there.
#
# What it changes on the machine, and no more: the Debian packages below (installed without
# starting their services: a private gearmand/PostgreSQL/Redis is started by each test on a free
# loopback port), and a project virtualenv in .venv (the Makefile runs everything from it). It never
# stops or reconfigures a service that is already running.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_PY=${BASE_PY:-python3}
VENV=${VENV:-.venv}

# postgresql: the job store's tests start throwaway clusters (tests/support/postgres.py).
apt_packages=(gearman-job-server gearman-tools libgearman-client-perl libjson-pp-perl
              libdata-messagepack-perl php-cli php-gearman php-msgpack postgresql
              redis-server)  # redis-server: only its binary, for the peers benchmark (bench/peers)
missing=()
# This kind of machine ships Node.js 20 with npm; Debian's packages are only a fallback.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  # Debian starts a package's service on install (gearmand on :4730, ...). Nothing here needs them,
  # so while we install, a temporary policy-rc.d tells invoke-rc.d not to start any; an existing
  # policy of the machine's own is left as it is.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    made_policy=1
    trap '$SUDO rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$made_policy" ]; then $SUDO rm -f "$policy"; trap - EXIT; fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating the project virtualenv $VENV (from $BASE_PY)"
  "$BASE_PY" -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c "import django_gearman, serializers, pytest_django, hypothesis, gearman, ruff, mypy, celery, rq, dramatiq, django_tasks_db" >/dev/null 2>&1 \
   || [ pyproject.toml -nt "$VENV/.setup-stamp" ]; then
  echo "setup: installing the Python packages into $VENV (pip install -e '.[test,dev,bench,bench-peers]')"
  "$PY" -m pip install -q --disable-pip-version-check -e '.[test,dev,bench,bench-peers]'
  touch "$VENV/.setup-stamp"
fi

if [ -f interop/node/package.json ] && [ ! -d interop/node/node_modules ]; then
  echo "setup: installing the Node peer (npm install in interop/node)"
  (cd interop/node && npm install --no-audit --no-fund --silent)
fi
