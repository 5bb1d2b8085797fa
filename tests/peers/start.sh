#!/bin/bash
# start.sh RUNDIR: starts the light set of test peers on loopback, in the
# background, and writes RUNDIR/peers.env (KEY=VALUE lines, shell-quoted only
# when a value needs it) for the tests:
#   PB_OIDC_ISSUER PB_OIDC_CLIENT_ID PB_APP_CLIENT_ID PB_APP_CLIENT_SECRET
#   PB_INTROSPECT_CLIENT_ID PB_INTROSPECT_CLIENT_SECRET
#   PB_SMTP_HOST PB_SMTP_PORT PB_SMTPS_PORT PB_MAILDIR
#   PB_TEST_CA PB_UNTRUSTED_CA PB_CERT_DIR PB_PEERS_DIR PB_RUNDIR
#   PB_NODE (the pinned node that tests run scripts with)
#   PB_GRAPH_ENDPOINT PB_GRAPH_PORT PB_GRAPH_MAILDIR (graph.mjs)
#   PB_SMTP_OFF_PORT (smtp.mjs --auth-disabled: a tenant with SMTP AUTH off)
#   PB_SMTP_DSN_PORT PB_DSN_MAILDIR (smtp.mjs --dsn: a server that offers DSN)
# Pids in RUNDIR/*.pid, logs in RUNDIR/*.log. Peers already running from
# RUNDIR are stopped first (their tokens would not survive anyway).
set -euo pipefail
peers=$(cd "$(dirname "$0")" && pwd)
. "$peers/lib.sh"
[[ $# -eq 1 ]] || { echo "usage: start.sh RUNDIR" >&2; exit 2; }
mkdir -p "$1"
run=$(cd "$1" && pwd)

"$peers/stop.sh" "$run"
"$peers/install.sh"
"$peers/make-ca.sh" "$run/certs"
rm -rf "$run/maildir" "$run/graph-maildir" "$run/smtp-off-maildir" "$run/peers.env"
mkdir -p "$run/maildir" "$run/graph-maildir" "$run/smtp-off-maildir"

# spawn NAME ARGS...: NAME runs detached (own session, no inherited fds, so
# ctest does not wait on it); waits for its JSON line in RUNDIR/NAME.json.
spawn() {
  local name=$1; shift
  rm -f "$run/$name.json"
  setsid "$@" </dev/null >"$run/$name.json" 2>"$run/$name.log" &
  echo $! >"$run/$name.pid"
  local deadline=$((SECONDS + 20))
  until [[ -s $run/$name.json ]] && grep -q '}' "$run/$name.json"; do
    if ! pb_alive "$(cat "$run/$name.pid")"; then
      echo "start.sh: $name exited before listening; its log:" >&2
      tail -n 30 "$run/$name.log" >&2
      "$peers/stop.sh" "$run"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "start.sh: $name not listening after 20 s; see $run/$name.log" >&2
      tail -n 30 "$run/$name.log" >&2
      "$peers/stop.sh" "$run"
      exit 1
    fi
    sleep 0.1
  done
}
json() { sed -nE "1s/.*\"$2\":\"?([^\",}]*)\"?.*/\1/p" "$run/$1.json"; }

spawn oidc node "$peers/oidc.mjs"
issuer=$(json oidc issuer)
spawn smtp node "$peers/smtp.mjs" --issuer "$issuer" --maildir "$run/maildir" \
  --cert "$run/certs/server.pem" --key "$run/certs/server.key" --tls-port 0
spawn graph node "$peers/graph.mjs" --issuer "$issuer" --maildir "$run/graph-maildir"
spawn smtp-off node "$peers/smtp.mjs" --auth-disabled --issuer "$issuer" \
  --maildir "$run/smtp-off-maildir" --cert "$run/certs/server.pem" --key "$run/certs/server.key"
spawn smtp-dsn node "$peers/smtp.mjs" --dsn --issuer "$issuer" \
  --maildir "$run/dsn-maildir" --cert "$run/certs/server.pem" --key "$run/certs/server.key"

{
  pb_env PB_RUNDIR "$run"
  pb_env PB_PEERS_DIR "$peers"
  pb_env PB_NODE "$PB_NODE_BIN/node"
  pb_env PB_OIDC_ISSUER "$issuer"
  pb_env PB_OIDC_CLIENT_ID postbridge-device
  pb_env PB_APP_CLIENT_ID postbridge-app
  pb_env PB_APP_CLIENT_SECRET app-secret
  pb_env PB_INTROSPECT_CLIENT_ID smtp-server
  pb_env PB_INTROSPECT_CLIENT_SECRET introspect-secret
  pb_env PB_SMTP_HOST 127.0.0.1
  pb_env PB_SMTP_PORT "$(json smtp port)"
  pb_env PB_SMTPS_PORT "$(json smtp tlsPort)"
  pb_env PB_MAILDIR "$run/maildir"
  pb_env PB_GRAPH_PORT "$(json graph port)"
  pb_env PB_GRAPH_ENDPOINT "$(sed -nE '1s/.*"endpoint":"([^"]*)".*/\1/p' "$run/graph.json")"
  pb_env PB_GRAPH_MAILDIR "$run/graph-maildir"
  pb_env PB_SMTP_OFF_PORT "$(json smtp-off port)"
  pb_env PB_SMTP_DSN_PORT "$(json smtp-dsn port)"
  pb_env PB_DSN_MAILDIR "$run/dsn-maildir"
  pb_env PB_CERT_DIR "$run/certs"
  pb_env PB_TEST_CA "$run/certs/ca.pem"
  pb_env PB_UNTRUSTED_CA "$run/certs/untrusted-ca.pem"
} >"$run/peers.env.tmp"
mv "$run/peers.env.tmp" "$run/peers.env"
echo "start.sh: peers running; environment in $run/peers.env"
cat "$run/peers.env"
