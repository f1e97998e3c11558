SUMMARY = "Stagebox appliance image: stageboxd on a read-only root, A/B updated by RAUC"
DESCRIPTION = "systemd, stageboxd and RAUC on a read-only root, in the \
A/B disk layout of wic/stagebox-ab.wks."
HOMEPAGE = "https://example.invalid/stagebox"
LICENSE = "MIT"

inherit core-image

# kernel-image puts the kernel in the slot's /boot (bzImage-VERSION):
# stagebox-boot copies it onto the ESP when an update activates the slot.
IMAGE_INSTALL = "packagegroup-core-boot stageboxd rauc kernel-image"
IMAGE_FEATURES += "read-only-rootfs"
IMAGE_FSTYPES = "ext4 wic wic.qcow2"
WKS_FILE = "stagebox-ab.wks"

# systemd as init, no login shell for anyone: the box is managed by its API.
DISTRO_FEATURES:append = " systemd usrmerge"
VIRTUAL-RUNTIME_init_manager = "systemd"

# The ESP as stagebox-boot expects it (images/esp.sh, deployed by
# stagebox-esp): each slot's kernel in /SLOT/vmlinuz, one loader entry per
# slot, and loader.conf booting the first of them in systemd-boot's order.
# wic installs these after writing its own loader.conf, which ours
# replaces; its own entry (boot.conf) stays in the menu but is never the
# default (`default stagebox-*`).
do_image_wic[depends] += "stagebox-esp:do_deploy"
IMAGE_EFI_BOOT_FILES = "${KERNEL_IMAGETYPE};a/vmlinuz ${KERNEL_IMAGETYPE};b/vmlinuz \
    stagebox-esp/loader/loader.conf;loader/loader.conf \
    stagebox-esp/loader/entries/stagebox-a.conf;loader/entries/stagebox-a.conf \
    stagebox-esp/loader/entries/stagebox-b.conf;loader/entries/stagebox-b.conf"
# The ESP is mounted on /boot/efi (stagebox-boot's default), leaving the
# slot's /boot visible; the root is read-only, so the mount point is made
# here.
ROOTFS_POSTPROCESS_COMMAND += "stagebox_esp_mount_point"
stagebox_esp_mount_point() {
    install -d ${IMAGE_ROOTFS}/boot/efi
}
