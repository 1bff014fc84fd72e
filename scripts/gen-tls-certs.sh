#!/usr/bin/env bash
# Makes a test CA and certificates for keyslot's TLS tests and the simulator's TLS scenarios.
#
#   scripts/gen-tls-certs.sh DIR [KEY_ALGORITHM]
#
# DIR gets ca.crt/ca.key, server.crt/server.key (CN keyslot-node, SAN 127.0.0.1, ::1,
# localhost; serverAuth and clientAuth, as a Redis node presents one certificate both ways) and
# client.crt/client.key (clientAuth). KEY_ALGORITHM is rsa (the default) or ed25519. Every
# certificate is valid from 2000-01-01 to 2199-12-31, so the simulator's clock (madsim starts
# near 2022) and a real run both fall inside. Needs the openssl command (3.0 or later).
set -euo pipefail
dir=${1:?usage: gen-tls-certs.sh DIR [rsa|ed25519]}
alg=${2:-rsa}
mkdir -p "$dir"
cd "$dir"
genkey() {
    case "$alg" in
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
        ed25519) openssl genpkey -algorithm ED25519 -out "$1" ;;
        *) echo "unknown key algorithm $alg" >&2; exit 2 ;;
    esac
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/index.txt"
echo 01 > "$work/serial"
cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $work
database = $work/index.txt
serial = $work/serial
new_certs_dir = $work
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = keyslot test CA
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
[client_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
CNF
dates=(-startdate 20000101000000Z -enddate 21991231235959Z)
genkey ca.key
openssl req -new -key ca.key -config "$work/ca.cnf" -out "$work/ca.csr"
openssl ca -batch -selfsign -notext -config "$work/ca.cnf" -keyfile ca.key -extensions ca_ext \
    "${dates[@]}" -in "$work/ca.csr" -out ca.crt 2>/dev/null
for who in server client; do
    genkey "$who.key"
    openssl req -new -key "$who.key" -subj "/CN=keyslot-$who" -out "$work/$who.csr"
    openssl ca -batch -notext -config "$work/ca.cnf" -cert ca.crt -keyfile ca.key \
        -extensions "${who}_ext" "${dates[@]}" -in "$work/$who.csr" -out "$who.crt" 2>/dev/null
done
chmod 644 ./*.key
