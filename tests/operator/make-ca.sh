#!/usr/bin/env bash
# Generates, at test time, what the operator-table tests need in DIR:
#   ca.pem / ca.key         a throw-away test CA
#   server.pem / server.key a certificate for 127.0.0.1 and localhost, signed by the CA
#   operator.key / operator.pub  the operator's Ed25519 signing key pair (PEM)
#   other.key / other.pub   a second Ed25519 key pair (for "wrong key" cases)
# Nothing is reused between runs; nothing outside DIR is touched.
set -euo pipefail
dir=${1:?usage: make-ca.sh DIR}
mkdir -p "$dir"
cd "$dir"
q() { "$@" >/dev/null 2>&1 || { echo "make-ca: failed: $*" >&2; exit 1; }; }

q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=eamclat test CA" -keyout ca.key -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout server.key -out server.csr
cat > server.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EOF
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem
for k in operator other; do
    q openssl genpkey -algorithm ed25519 -out "$k.key"
    q openssl pkey -in "$k.key" -pubout -out "$k.pub"
done
rm -f server.csr server.ext ca.srl
echo "make-ca: $dir ready"
