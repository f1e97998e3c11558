SUMMARY = "systemd-boot configuration of the Stagebox A/B slots"
DESCRIPTION = "loader.conf and one loader entry per root slot, written by \
images/esp.sh as for the Debian image, deployed for the image's ESP \
(IMAGE_EFI_BOOT_FILES). stagebox-boot renames these entries when RAUC \
activates a slot."
HOMEPAGE = "https://example.invalid/stagebox"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

SRC_URI = "git://example.invalid/stagebox.git;protocol=https;branch=main"
SRCREV = "${AUTOREV}"
PV = "0.1.0+git"
S = "${WORKDIR}/git"

inherit deploy nopackages

do_configure[noexec] = "1"
do_compile[noexec] = "1"

# The kernel boots without an initrd (linux-yocto has ext4 and the disk
# drivers built in), so the entries carry no initrd line.
do_deploy() {
    bash ${S}/images/esp.sh ${DEPLOYDIR}/stagebox-esp
}
addtask deploy after do_unpack before do_build
