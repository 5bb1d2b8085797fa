#!/bin/bash
# run.sh BUILD_DIR: the hostile-LAN figures (attack.py says what runs). A
# signed-in profile sending to the real upstream (smtp-server, XOAUTH2), the
# relay on 127.0.0.1 with STARTTLS and a device account, Web Config over
# HTTPS with a known administrator password; then attack.py, quiet and under
# attack. PB_BENCH_MESSAGES device messages per phase (default 50).
set -euo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
work=$(mktemp -d /tmp/pb-attack-bench.XXXXXX)
. "$(dirname "$0")/../lib.sh"
trap bench_cleanup EXIT
device_password=device-password-16
admin_password=administrator-pw-16

bench_peers
bench_profile "email.delivery.rate_limit 0"
printf '%s' "$device_password" | pb relay-users add copier >/dev/null
printf '%s' "$admin_password" | pb admin-password set >/dev/null
bench_serve --web 127.0.0.1:0 --relay 127.0.0.1:0
relay=$(bench_address relay_listening)
web=$(bench_address listening)
web=${web%/}
python3 "$(dirname "$0")/attack.py" --relay "${relay##*:}" --web "${web##*:}" \
  --password "$device_password" --admin-password "$admin_password" \
  --messages "${PB_BENCH_MESSAGES:-50}"
