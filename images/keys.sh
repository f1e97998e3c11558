#!/bin/bash
# Makes a development PKI for update bundles, once, in DIR:
#   ca.cert.pem / ca.key.pem            the CA: the image's RAUC keyring
#   signing.cert.pem / signing.key.pem  the bundle signer, issued by the CA
#   untrusted.cert.pem / .key.pem       a signer of no CA the image knows
#                                       (the update test shows it refused)
#
#   images/keys.sh DIR
#
# For real products, keep the CA key offline and sign bundles with your own
# signer: `cargo xtask image` takes STAGEBOX_KEYRING, STAGEBOX_SIGNING_CERT
# and STAGEBOX_SIGNING_KEY instead (docs/appliance.md, "Signing").
set -euo pipefail

dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077
subject="/O=Stagebox development"
if [ ! -f signing.cert.pem ]; then
    openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -keyout ca.key.pem -out ca.cert.pem \
        -subj "$subject/CN=Stagebox development update CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req -newkey rsa:3072 -nodes -keyout signing.key.pem -out signing.csr.pem \
        -subj "$subject/CN=Stagebox development bundle signer" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > signing.ext
    openssl x509 -req -days 3650 -in signing.csr.pem -CA ca.cert.pem -CAkey ca.key.pem -CAcreateserial \
        -extfile signing.ext -out signing.cert.pem 2>/dev/null
    rm -f signing.csr.pem signing.ext
fi
# A code-signing certificate like ours in every way but its issuer.
if [ ! -f untrusted.cert.pem ]; then
    openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -keyout untrusted.key.pem -out untrusted.cert.pem \
        -subj "/O=Somebody else/CN=An untrusted signer" \
        -addext keyUsage=critical,digitalSignature -addext extendedKeyUsage=codeSigning 2>/dev/null
fi
chmod 0644 ./*.cert.pem
echo "==> development update keys in $dir"
