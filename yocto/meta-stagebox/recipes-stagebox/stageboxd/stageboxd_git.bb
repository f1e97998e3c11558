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
# stagebox-boot: RAUC's boot-loader backend and the boot health check.
CARGO_BUILD_FLAGS += "-p stagebox-daemon --bin stageboxd -p stagebox-boot"

SYSTEMD_SERVICE:${PN} = "stageboxd.service stagebox-health.service stagebox-boot-entries.service stagebox-reboot.path"
RDEPENDS:${PN} += "rauc"
USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --user-group --home-dir /var/lib/stagebox --shell /sbin/nologin stagebox"

do_install:append() {
    install -d ${D}${systemd_system_unitdir} ${D}${sysconfdir}/stagebox
    install -m 0644 ${S}/images/stageboxd.service ${D}${systemd_system_unitdir}/stageboxd.service
    install -m 0644 ${S}/images/rootfs/etc/stagebox/stageboxd.toml ${D}${sysconfdir}/stagebox/stageboxd.toml
    for unit in stagebox-health.service stagebox-boot-entries.service stagebox-reboot.path stagebox-reboot.service; do
        install -m 0644 ${S}/images/rootfs/etc/systemd/system/$unit ${D}${systemd_system_unitdir}/$unit
    done
    install -d ${D}${sysconfdir}/dbus-1/system.d
    install -m 0644 ${S}/images/rootfs/etc/dbus-1/system.d/de.pengutronix.rauc.conf ${D}${sysconfdir}/dbus-1/system.d/
}

FILES:${PN} += "${systemd_system_unitdir} ${sysconfdir}/stagebox ${sysconfdir}/dbus-1"
