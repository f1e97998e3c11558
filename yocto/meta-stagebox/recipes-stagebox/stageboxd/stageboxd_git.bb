SUMMARY = "Stagebox media appliance daemon"
DESCRIPTION = "stageboxd: shared-memory media flows, transports, HLS/DASH \
packaging and sandboxed WebAssembly plugins behind an HTTPS API."
HOMEPAGE = "https://example.invalid/stagebox"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

SRC_URI = "git://example.invalid/stagebox.git;protocol=https;branch=main"
SRCREV = "${AUTOREV}"
PV = "0.1.0+git"
S = "${WORKDIR}/git"

# Every crate of Cargo.lock, pinned with its checksum; written by
# `cargo xtask yocto-crates`, checked against Cargo.lock by `cargo xtask test`.
require stageboxd-crates.inc

inherit cargo cargo-update-recipe-crates pkgconfig systemd useradd

# ffmpeg-next links FFmpeg (found with pkg-config) and binds its headers
# with bindgen, which needs libclang.
DEPENDS += "ffmpeg clang-native"
CARGO_BUILD_FLAGS += "-p stagebox-daemon --bin stageboxd"

SYSTEMD_SERVICE:${PN} = "stageboxd.service"
USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --user-group --home-dir /var/lib/stagebox --shell /sbin/nologin stagebox"

do_install:append() {
    install -d ${D}${systemd_system_unitdir} ${D}${sysconfdir}/stagebox
    install -m 0644 ${S}/images/stageboxd.service ${D}${systemd_system_unitdir}/stageboxd.service
    install -m 0644 ${S}/images/rootfs/etc/stagebox/stageboxd.toml ${D}${sysconfdir}/stagebox/stageboxd.toml
}

FILES:${PN} += "${systemd_system_unitdir}/stageboxd.service ${sysconfdir}/stagebox"
