#!/usr/bin/env bash
# Makes throwaway TLS material for tests in DIR (nothing of it is committed): a CA and, signed by
# it, a server certificate for 127.0.0.1 / localhost / upstream.test, an expired one, one for
# another name, and a client certificate; plus a second CA that signed nothing the tests trust.
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
quiet() { "$@" > /dev/null 2>&1 || { echo "make_test_certs: failed: $*" >&2; "$@"; exit 1; }; }

ca() {  # name
  quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 30 -subj "/CN=$1"
}
leaf() {  # name, subject CN, SAN, extended key usage, start date, end date (openssl ca form)
  quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$3" "$4" > "$1.ext"
  mkdir -p db && : > db/index && echo 01 > db/serial
  cat > ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = db/index
serial = db/serial
new_certs_dir = db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
  quiet openssl ca -batch -config ca.cnf -in "$1.csr" -out "$1.pem" -extfile "$1.ext" -notext \
    -startdate "$5" -enddate "$6"
  rm -f "$1.csr" "$1.ext"
}

ca ca
ca other-ca
now=$(date -u +%Y%m%d%H%M%SZ)
later=$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)
leaf server 127.0.0.1 "IP:127.0.0.1,DNS:localhost,DNS:upstream.test" serverAuth "$now" "$later"
leaf wrong-name elsewhere.test "DNS:elsewhere.test" serverAuth "$now" "$later"
leaf expired 127.0.0.1 "IP:127.0.0.1,DNS:localhost" serverAuth 20200101000000Z 20200201000000Z
leaf client aggregator "DNS:aggregator" clientAuth "$now" "$later"
chmod 600 ./*.key
rm -rf db ca.cnf
