#!/bin/bash
# make-ca.sh OUTDIR: a test CA and a server certificate it signed (so the
# tests keep certificate validation on), plus a second CA nobody trusts with
# its own server certificate (for the "must refuse" tests).
#   ca.pem server.pem server.key                             trusted chain
#   untrusted-ca.pem untrusted-server.pem untrusted-server.key  negative tests
# Server certificates: CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:127.0.0.2.
# Every certificate is dated from a day back (faketime), as a real server's
# is never minutes old: a test whose clock runs 2 hours behind (the fault
# matrix's clock cells) must not meet a certificate "not yet valid" only
# because the tests began a moment ago.
# Idempotent: does nothing when all the files are there.
set -euo pipefail
out=${1:?usage: make-ca.sh OUTDIR}
files=(ca.pem server.pem server.key untrusted-ca.pem untrusted-server.pem untrusted-server.key)

mkdir -p "$out"
missing=0
for f in "${files[@]}"; do [[ -s $out/$f ]] || missing=1; done
((missing)) || exit 0

# Build in a private folder and move into place, so a concurrent or
# interrupted run never leaves a key that does not match its certificate.
work=$(mktemp -d "$out/.make-ca.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:127.0.0.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# make_chain PREFIX "CA NAME": PREFIXca.pem, PREFIXserver.pem, PREFIXserver.key
make_chain() {
  local p=$1 name=$2
  faketime -f -1d openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
    -subj "/O=postbridge tests/CN=$name" \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
    -keyout "$work/${p}ca.key" -out "$work/${p}ca.pem" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -subj /CN=localhost \
    -keyout "$work/${p}server.key" -out "$work/${p}server.csr" 2>/dev/null
  faketime -f -1d openssl x509 -req -in "$work/${p}server.csr" -days 825 -sha256 \
    -CA "$work/${p}ca.pem" -CAkey "$work/${p}ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$work/server.ext" -out "$work/${p}server.pem" 2>/dev/null
  openssl verify -CAfile "$work/${p}ca.pem" "$work/${p}server.pem" >/dev/null
}
make_chain "" "postbridge test CA"
make_chain untrusted- "postbridge untrusted test CA"

chmod 600 "$work"/*.key
for f in ca.key untrusted-ca.key "${files[@]}"; do mv -f "$work/$f" "$out/$f"; done
