#!/bin/bash
# interop.sh start|stop RUNDIR: the interop set on top of the light peers
# (start.sh RUNDIR first): installs the Debian packages when missing
# (scripts/install-deps --test, the one list of what the tests use), then
# Dovecot submission (+ its sink) and POP3, and tinyproxy. See dovecot.sh,
# tinyproxy.sh.
set -euo pipefail
peers=$(cd "$(dirname "$0")" && pwd)
[[ $# -eq 2 && ($1 == start || $1 == stop) ]] || { echo "usage: interop.sh start|stop RUNDIR" >&2; exit 2; }
if [[ $1 == start ]]; then
  "$peers/../../scripts/install-deps" --test
  "$peers/dovecot.sh" start "$2"
  "$peers/tinyproxy.sh" start "$2" || { "$peers/dovecot.sh" stop "$2"; exit 1; }
else
  status=0
  "$peers/tinyproxy.sh" stop "$2" || status=1
  "$peers/dovecot.sh" stop "$2" || status=1
  exit $status
fi
