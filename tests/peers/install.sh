#!/bin/bash
# install.sh: the npm packages of the test peers, exactly as locked.
# `npm ci` only when node_modules is missing or older than the lockfile, so
# it costs nothing when already installed.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.package-lock.json   # npm writes it on every install
if [[ -f $stamp && ! package-lock.json -nt $stamp ]]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
touch "$stamp"
