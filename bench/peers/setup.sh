#!/usr/bin/env bash
# Installs what `make bench-peers` needs beyond scripts/setup.sh: Debian's redis-server (only the
# binary is used: the run starts its own on a free loopback port, never the system service) and
# the `bench-peers` optional dependencies of pyproject.toml. Idempotent and quick when present.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python3}

if ! command -v redis-server >/dev/null 2>&1; then
  echo "bench-peers: installing Debian's redis-server"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

if ! $PY -c "import celery, redis, rq, dramatiq, django_tasks, django_tasks_db" >/dev/null 2>&1; then
  echo "bench-peers: installing the [bench-peers] extras of pyproject.toml"
  # The extras alone (read from pyproject.toml): the project itself is already installed.
  $PY - <<'PYTHON' | xargs -d '\n' $PY -m pip install -q --disable-pip-version-check
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["bench-peers"]))
PYTHON
fi
