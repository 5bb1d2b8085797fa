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
counts=("${@:-1 10 50}")
[[ $# -gt 0 ]] && counts=("$@") || counts=(1 10 50)
messages=${PB_BENCH_MESSAGES:-20}
size=${PB_BENCH_SIZE:-20000}
src=$(cd "$(dirname "$0")/../.." && pwd)
peers=$src/tests/peers
work=$(mktemp -d /tmp/pb-relay-bench.XXXXXX)
state=$work/state
pb() { "$build/postbridge" --state "$state" "$@"; }
serve_pid=
cleanup() {
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  "$peers/stop.sh" "$work/peers" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$peers/start.sh" "$work/peers" >/dev/null
set -a; . "$work/peers/peers.env"; set +a
for kv in "email.auth_method oauth2" "email.service custom" "email.oauth.issuer $PB_OIDC_ISSUER" \
          "email.oauth.client_id $PB_OIDC_CLIENT_ID" "email.smtp.host 127.0.0.1" \
          "email.smtp.port $PB_SMTP_PORT" "email.smtp.security starttls" \
          "email.sender alice@example.test" "email.delivery.rate_limit 0" \
          "relay.allowed_networks 127.0.0.1/32" "relay.max_connections_per_client 100"; do
  # shellcheck disable=SC2086
  pb config set $kv >/dev/null
done
pb config set email.oauth.scopes "openid email offline_access smtp.send" >/dev/null
pb ca import "$PB_TEST_CA" >/dev/null
pb signin --json >"$work/signin.out" 2>&1 &
signin_pid=$!
for _ in $(seq 100); do grep -q user_code "$work/signin.out" 2>/dev/null && break; sleep 0.1; done
code=$(sed -nE 's/.*"user_code":"([^"]+)".*/\1/p' "$work/signin.out" | head -1)
"$PB_NODE" "$peers/user.mjs" approve --issuer "$PB_OIDC_ISSUER" --code "$code" --login alice >/dev/null
wait "$signin_pid"

# Not through pb(): a backgrounded function is a subshell, and its pid is not
# the one whose memory relay_load is to measure.
"$build/postbridge" --state "$state" serve --json --web 127.0.0.1:0 --relay 127.0.0.1:0 \
  >"$work/serve.out" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do grep -q relay_listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
address=$(sed -nE 's/.*"event":"relay_listening","address":"([^"]+)".*/\1/p;s/.*"address":"([^"]+)","event":"relay_listening".*/\1/p' "$work/serve.out" | head -1)
port=${address##*:}
for n in "${counts[@]}"; do
  "$build/bench/relay/relay_load" --port "$port" --clients "$n" --messages "$messages" \
    --size "$size" --to bob@example.test --pid "$serve_pid" --maildir "$PB_MAILDIR" --wait 600
done
