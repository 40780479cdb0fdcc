#!/usr/bin/env bash
# Installs everything the demo, the tests and the benchmarks need on a fresh machine of this kind
# (Debian + CPython). Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}

apt_packages=(gearman-job-server gearman-tools libgearman-client-perl libjson-pp-perl
              libdata-messagepack-perl php-cli php-gearman php-msgpack
              chromium chromium-driver)  # the console's browser tests (Selenium, headless)
missing=()
# This kind of machine ships Node.js 20 with npm; Debian's packages are only a fallback.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's package starts a system gearmand on :4730; our tests and demo start private ones on
# free ports, so the system one is harmless, but stop it to keep port 4730 free for users.
if command -v service >/dev/null 2>&1; then service gearman-job-server stop >/dev/null 2>&1 || true; fi

if ! $PY -c "import django_gearman, serializers, pytest_django, hypothesis, gearman, ruff, mypy, selenium" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .setup-stamp ]; then
  echo "setup: installing the Python packages (pip install -e '.[test,dev,bench]')"
  $PY -m pip install -q --disable-pip-version-check -e '.[test,dev,bench]'
  touch .setup-stamp
fi

if [ -f interop/node/package.json ] && [ ! -d interop/node/node_modules ]; then
  echo "setup: installing the Node peer (npm install in interop/node)"
  (cd interop/node && npm install --no-audit --no-fund --silent)
fi
