#!/bin/bash
# run.sh BUILD_DIR [ROW...]: the relay against its real upstream, side by
# side in one run. Starts the light test peers (oidc-provider, smtp-server:
# STARTTLS, XOAUTH2 checked by introspection, 100 ms before each greeting)
# in a scratch folder, signs a profile in with OAuth 2.0 (the scripted user
# approves the device code), and runs `postbridge serve` with the relay on
# 127.0.0.1 (127.0.0.1/32 allowed without a login), with delivery's
# settings at their defaults but for the rate limit. Then for each row
# SIZE:CLIENTSxMESSAGES (default: the five of issue #26):
#   upstream  relay_load straight at smtp-server (STARTTLS, AUTH PLAIN, one
#             connection per client): the ceiling
#   relay     relay_load at the relay (plain, no login, one connection per
#             client), waiting until every message reached the upstream's
#             maildir: accepted/s, delivered/s (first connect to the last
#             arrival), serve's CPU per message and per MB, its peak RSS
# One JSON line per run, then the table. Last, the
# cost of `send --wait` as a whole process delivering its message itself
# (CPU, peak RSS; mean of 20).
# PB_BENCH_PERF=DIR: each relay run is also profiled (perf record on
# serve, DIR/SIZE-CLIENTSxMESSAGES.data; read with perf report -i;
# PB_BENCH_PERF_GRAPH=dwarf for whole stacks: the build has no frame
# pointers).
# Everything stays on loopback.
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [SIZE:CLIENTSxMESSAGES...]}" && pwd)
shift
[[ $# -gt 0 ]] && rows=("$@") || rows=(2000:1x200 2000:10x50 2000:50x10 1000000:1x200 1000000:50x10)
work=$(mktemp -d /tmp/pb-relay-bench.XXXXXX)
. "$(dirname "$0")/../lib.sh"
trap bench_cleanup EXIT

bench_peers
bench_profile "email.delivery.rate_limit 0" "relay.allowed_networks 127.0.0.1/32" \
              "relay.max_connections_per_client 100"
bench_serve --web 127.0.0.1:0 --relay 127.0.0.1:0
address=$(bench_address relay_listening)
relay_port=${address##*:}
sleep 2  # let serve settle before its idle size is read
idle_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status")
echo "{\"serve_idle_rss_kb\":$idle_kb}"

device_plain=$(printf '\0device\0device-pass' | base64)
load() { "$build/bench/relay/relay_load" --to bob@example.test --maildir "$PB_MAILDIR" --wait 900 "$@"; }
table=()
for row in "${rows[@]}"; do
  size=${row%%:*} shape=${row#*:}
  clients=${shape%x*} messages=${shape#*x}
  up=$(load --port "$PB_SMTP_PORT" --starttls --auth "$device_plain" \
         --clients "$clients" --messages "$messages" --size "$size")
  echo "{\"run\":\"upstream\",${up#\{}"
  perf_pid=
  if [[ -n ${PB_BENCH_PERF:-} ]]; then
    mkdir -p "$PB_BENCH_PERF"
    perf record -q -F 1999 --call-graph "${PB_BENCH_PERF_GRAPH:-fp}" -p "$serve_pid" -o "$PB_BENCH_PERF/$size-$shape.data" 2>/dev/null &
    perf_pid=$!
    sleep 1
  fi
  via=$(load --port "$relay_port" --pid "$serve_pid" \
          --clients "$clients" --messages "$messages" --size "$size")
  [[ -n $perf_pid ]] && kill -INT "$perf_pid" && wait "$perf_pid" || true
  echo "{\"run\":\"relay\",${via#\{}"
  table+=("$(python3 -c 'import json,sys
u, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
size = "%d KB" % (u["size"] // 1000) if u["size"] < 1000000 else "%d MB" % (u["size"] // 1000000)
per_mb = "%.1f" % r["cpu_ms_per_mb"] if u["size"] >= 1000000 else ""
print("| %s, %d x %d | %.1f | %.1f | %.1f | %.2f | %.2f | %s | %d |" % (
    size, u["clients"], u["messages"], u["delivered_per_s"], r["messages_per_s"],
    r["delivered_per_s"], r["delivered_per_s"] / u["delivered_per_s"], r["cpu_ms_per_message"],
    per_mb, r["server_peak_rss_kb"] // 1024))' "$up" "$via")")
done

# send --wait as a process that delivers itself (no serve running, as the
# issue measured it): CPU and peak RSS (getrusage of each child).
kill "$serve_pid" && wait "$serve_pid" || true
serve_pid=
send_cost=$(python3 - "$build/postbridge" "$state" <<'PY'
import os, subprocess, sys
exe, state = sys.argv[1], sys.argv[2]
cpu, rss = [], []
for i in range(20):
    p = subprocess.Popen([exe, "--state", state, "send", "--wait", "--to", "bob@example.test",
                          "--subject", "send cost %d" % i, "--body", "x" * 2000],
                         stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit("send --wait failed: status %d" % status)
    cpu.append((ru.ru_utime + ru.ru_stime) * 1000)
    rss.append(ru.ru_maxrss / 1024)
print('{"run":"send --wait","cpu_ms":%.1f,"peak_rss_mib":%.1f}' % (sum(cpu) / len(cpu), sum(rss) / len(rss)))
PY
)
echo "$send_cost"

echo
echo "serve idle: $((idle_kb / 1024)) MiB RSS; $send_cost"
echo "| load | upstream alone: delivered/s | relay: 250s/s | relay: delivered/s | delivered / upstream | serve CPU ms/message | serve CPU ms/MB | serve peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
