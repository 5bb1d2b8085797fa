#!/bin/bash
# install-interop.sh: the Debian packages of the interop peers (Dovecot
# submission and POP3, Postfix's smtp-sink, msmtp, tinyproxy). Does nothing when they
# are installed; apt starts no daemons on these machines, and our scripts
# run private instances from their own configuration.
set -euo pipefail
pkgs=(dovecot-core dovecot-submissiond dovecot-pop3d postfix msmtp tinyproxy)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0

export DEBIAN_FRONTEND=noninteractive
# Postfix asks what kind of mail system this is; we want none configured.
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
echo "install-interop.sh: installing ${missing[*]}" >&2
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
