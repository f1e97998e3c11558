SUMMARY = "Stagebox appliance image: stageboxd on a read-only root, A/B updated by RAUC"
DESCRIPTION = "systemd, stageboxd and RAUC on a read-only root, in the \
A/B disk layout of wic/stagebox-ab.wks."
HOMEPAGE = "https://example.invalid/stagebox"
LICENSE = "MIT"

inherit core-image

IMAGE_INSTALL = "packagegroup-core-boot stageboxd rauc kernel-image"
IMAGE_FEATURES += "read-only-rootfs"
IMAGE_FSTYPES = "ext4 wic wic.qcow2"
WKS_FILE = "stagebox-ab.wks"

# systemd as init, no login shell for anyone: the box is managed by its API.
DISTRO_FEATURES:append = " systemd usrmerge"
VIRTUAL-RUNTIME_init_manager = "systemd"
