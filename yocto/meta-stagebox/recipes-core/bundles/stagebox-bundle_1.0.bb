SUMMARY = "Signed RAUC update bundle of the Stagebox appliance"
DESCRIPTION = "The stagebox-image root file system as a RAUC bundle in the \
verity format, signed with the update key, for /api/v1/system/update."
HOMEPAGE = "https://example.invalid/stagebox"
LICENSE = "MIT"

inherit bundle

# Must equal `compatible` in recipes-core/rauc/files/system.conf.
RAUC_BUNDLE_COMPATIBLE = "stagebox-x86_64"
RAUC_BUNDLE_FORMAT = "verity"
RAUC_BUNDLE_SLOTS = "rootfs"
RAUC_SLOT_rootfs = "stagebox-image"
RAUC_SLOT_rootfs[fstype] = "ext4"

# The signing key and certificate, from the build's configuration.
RAUC_KEY_FILE ?= "${TOPDIR}/keys/stagebox-update.key.pem"
RAUC_CERT_FILE ?= "${TOPDIR}/keys/stagebox-update.cert.pem"
