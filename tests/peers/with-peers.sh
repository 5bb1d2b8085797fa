#!/bin/bash
# with-peers.sh RUNDIR COMMAND [ARGS...]: runs COMMAND with RUNDIR/peers.env
# exported (for ctest: tests that need the peers' addresses and CA files),
# and PB_PEERS_ENV naming that file (what tests/support/peers.cpp reads).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # the pinned node first on PATH
[[ $# -ge 2 ]] || { echo "usage: with-peers.sh RUNDIR COMMAND [ARGS...]" >&2; exit 2; }
env_file=$1/peers.env
shift
[[ -f $env_file ]] && env_file=$(cd "$(dirname "$env_file")" && pwd)/peers.env || { echo "with-peers.sh: no $env_file: are the peers started (start.sh)?" >&2; exit 1; }
set -a
. "$env_file"
PB_PEERS_ENV=$env_file
set +a
exec "$@"
