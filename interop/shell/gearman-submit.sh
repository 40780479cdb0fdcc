#!/bin/sh
# Call a django-gearman job from the shell with the C `gearman` tool: no library, just a
# hand-written envelope (header line, newline, JSON body). The result envelope goes to stdout.
#   interop/shell/gearman-submit.sh 127.0.0.1 4730 gearman_example.reverse '{"args":["hello"],"kwargs":{}}'
# GEARMAN_TIMEOUT_MS bounds the wait (default 10000). Beware: gearman exits 0 even on a timeout,
# and a job that fails makes it wait for the whole timeout (docs/interop.md, "Known peer bugs").
set -eu
if [ $# -ne 4 ]; then
  echo "usage: $0 HOST PORT FUNCTION JSON_CALL" >&2
  exit 2
fi
envelope="$(printf 'GME/1 ct=application/json\n%s' "$4")"
exec gearman -t "${GEARMAN_TIMEOUT_MS:-10000}" -h "$1" -p "$2" -f "$3" "$envelope"
