# bench/lib.sh: what the benchmarks that run a whole `postbridge serve`
# share. Source it after setting `build` (the build directory) and `work`
# (a scratch folder); then:
#   bench_peers          start the light test peers (oidc-provider,
#                        smtp-server) in $work/peers and export peers.env
#   bench_profile KV...  configure the profile `email` for the peers (and
#                        any further "KEY VALUE" pairs), then sign it in with
#                        OAuth 2.0 (the scripted user approves the code)
#   bench_serve ARGS...  start serve --json with ARGS; sets serve_pid and
#                        waits for its listeners (serve.out in $work)
#   bench_address EVENT  the address a serve event names
#   bench_cleanup        stop serve and the peers, remove $work
# Everything stays on loopback.
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
peers=$src/tests/peers
state=$work/state
serve_pid=
pb() { "$build/postbridge" --state "$state" "$@"; }

bench_cleanup() {
  [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  "$peers/stop.sh" "$work/peers" >/dev/null 2>&1 || true
  rm -rf "$work"
}

bench_peers() {
  "$peers/start.sh" "$work/peers" >/dev/null
  set -a; . "$work/peers/peers.env"; set +a
}

bench_profile() {
  local kv
  for kv in "email.auth_method oauth2" "email.service custom" "email.oauth.issuer $PB_OIDC_ISSUER" \
            "email.oauth.client_id $PB_OIDC_CLIENT_ID" "email.smtp.host 127.0.0.1" \
            "email.smtp.port $PB_SMTP_PORT" "email.smtp.security starttls" \
            "email.sender alice@example.test" "$@"; do
    # shellcheck disable=SC2086
    pb config set $kv >/dev/null
  done
  pb config set email.oauth.scopes "openid email offline_access smtp.send" >/dev/null
  pb ca import "$PB_TEST_CA" >/dev/null
  pb signin --json >"$work/signin.out" 2>&1 &
  local signin_pid=$! code
  for _ in $(seq 100); do grep -q user_code "$work/signin.out" 2>/dev/null && break; sleep 0.1; done
  code=$(sed -nE 's/.*"user_code":"([^"]+)".*/\1/p' "$work/signin.out" | head -1)
  "$PB_NODE" "$peers/user.mjs" approve --issuer "$PB_OIDC_ISSUER" --code "$code" --login alice >/dev/null
  wait "$signin_pid"
}

bench_serve() {
  # Not through pb(): a backgrounded function is a subshell, and its pid is
  # not the one whose memory the benchmarks measure.
  "$build/postbridge" --state "$state" serve --json "$@" >"$work/serve.out" 2>"$work/serve.log" &
  serve_pid=$!
  for _ in $(seq 100); do grep -q relay_listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
}

bench_address() {
  python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: j = json.loads(l)
    except ValueError: continue
    if j.get("event") == sys.argv[2]: print(j.get("address") or j.get("url")); break' "$work/serve.out" "$1"
}
