#!/bin/bash
# Makes a signed RAUC update bundle (dm-verity format) of a root file
# system image:
#
#   images/bundle.sh OUT.raucb ROOTFS.ext4 VERSION SIGNING_CERT SIGNING_KEY
#
# The appliance installs it with POST /api/v1/system/update (or
# `stagebox update install OUT.raucb`) into the slot not running.
set -euo pipefail

out=$1
rootfs=$2
version=$3
cert=$4
key=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp --sparse=always "$rootfs" "$work/rootfs.ext4"
cat > "$work/manifest.raucm" <<MANIFEST
[update]
compatible=stagebox-x86_64
version=$version
description=Stagebox root file system

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
MANIFEST
rm -f "$out"
rauc bundle --cert="$cert" --key="$key" "$work" "$out" >/dev/null
echo "==> $out (version $version, $(du -h "$out" | cut -f1))"
