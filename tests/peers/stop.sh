#!/bin/bash
# stop.sh RUNDIR [NAME...]: stops the peers started from RUNDIR (all of them,
# or only RUNDIR/NAME.pid for each NAME) and waits until they have exited.
set -euo pipefail
peers=$(cd "$(dirname "$0")" && pwd)
. "$peers/lib.sh"
[[ $# -ge 1 ]] || { echo "usage: stop.sh RUNDIR [NAME...]" >&2; exit 2; }
[[ -d $1 ]] || exit 0
run=$(cd "$1" && pwd)
shift
if [[ $# -eq 0 ]]; then
  # The interop peers clean up more than a pid file.
  if [[ -e $run/dovecot.pid || -e $run/dovecot/base_dir ]]; then "$peers/dovecot.sh" stop "$run"; fi
  if [[ -e $run/tinyproxy.pid ]]; then "$peers/tinyproxy.sh" stop "$run"; fi
  shopt -s nullglob
  set -- "$run"/*.pid
  set -- "${@##*/}"
  set -- "${@%.pid}"
  rm -f "$run/peers.env"   # every value in it is about to be stale
fi
for name in "$@"; do
  pb_stop "$run/$name.pid" "$run" "$peers"
done
