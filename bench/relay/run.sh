#!/bin/bash
# run.sh BUILD_DIR [CLIENTS...]: the relay's figures against the real
# upstream. Starts the light test peers (oidc-provider, smtp-server) in a
# scratch folder, signs a profile in with OAuth 2.0 (the scripted user
# approves the device code), runs `postbridge serve` with the relay on
# 127.0.0.1 (127.0.0.1/32 allowed without a login), then relay_load with
# each client count (default 1 10 50), M messages of 20 KB each, waiting
# until every message reached the upstream maildir. One JSON line per run.
# Everything stays on loopback.
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [CLIENTS...]}" && pwd)
shift
[[ $# -gt 0 ]] && counts=("$@") || counts=(1 10 50)
messages=${PB_BENCH_MESSAGES:-20}
size=${PB_BENCH_SIZE:-20000}
work=$(mktemp -d /tmp/pb-relay-bench.XXXXXX)
. "$(dirname "$0")/../lib.sh"
trap bench_cleanup EXIT

bench_peers
bench_profile "email.delivery.rate_limit 0" "relay.allowed_networks 127.0.0.1/32" \
              "relay.max_connections_per_client 100"
bench_serve --web 127.0.0.1:0 --relay 127.0.0.1:0
address=$(bench_address relay_listening)
port=${address##*:}
for n in "${counts[@]}"; do
  "$build/bench/relay/relay_load" --port "$port" --clients "$n" --messages "$messages" \
    --size "$size" --to bob@example.test --pid "$serve_pid" --maildir "$PB_MAILDIR" --wait 600
done
