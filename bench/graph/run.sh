#!/bin/bash
# bench/graph/run.sh [BUILD_DIR]: starts the light peers (with the Graph
# peer) in a scratch folder, gets a Graph token through the device flow,
# and runs graph_send_bench: 2 KB and 1 MB messages per second by sendMail,
# then a 100 MB message through upload sessions with the peak RSS and a
# check that its attachment arrived byte for byte (exit 1 if not).
# Everything stays on loopback. Env: PB_BENCH_SMALL (count, 200),
# PB_BENCH_1M (count, 20), PB_BENCH_LARGE_MB (100).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pb-graph-bench.XXXXXX")
peers=$(cd "$(dirname "$0")/../../tests/peers" && pwd)
trap '"$peers/stop.sh" "$work/peers" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$peers/start.sh" "$work/peers" >/dev/null
set -a; . "$work/peers/peers.env"; set +a
"$PB_NODE" "$peers/token.mjs" --issuer "$PB_OIDC_ISSUER" --login alice \
  --scope 'openid email offline_access mail.send mail.readwrite' >"$work/token"
bin=$build/bench/graph/graph_send_bench
"$bin" "$PB_GRAPH_ENDPOINT" alice@example.test "$work/token" small "${PB_BENCH_SMALL:-200}" 2048
"$bin" "$PB_GRAPH_ENDPOINT" alice@example.test "$work/token" small "${PB_BENCH_1M:-20}" 1048576
"$bin" "$PB_GRAPH_ENDPOINT" alice@example.test "$work/token" large "${PB_BENCH_LARGE_MB:-100}" "$work"
