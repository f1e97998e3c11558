#!/bin/bash
# Builds the Stagebox appliance disk image: a Debian 12 root made with
# debootstrap, with the stageboxd built from this tree, booted by
# systemd-boot (UEFI). Run by `cargo xtask image`, which builds stageboxd
# and stagebox-boot and the bundled plugins first and passes them in, with
# the certificate update bundles must be signed under:
#
#   images/build.sh OUT BIN_DIR PLUGINS_DIR KEYRING
#
# Writes OUT/stagebox.raw, OUT/stagebox.qcow2 and OUT/rootfs.ext4 (the root
# file system alone, what an update bundle carries). The disk (GPT):
#   1 esp     256 MiB  vfat: systemd-boot, a kernel and initrd per slot
#   2 root-a  ext4, mounted read-only: the running system
#   3 root-b  ext4, the other slot (A/B updates write it)
#   4 state   1 GiB ext4, mounted on /var/lib/stagebox: everything the box
#             keeps, and room for an uploaded update bundle
#
# Nothing is mounted on the build host: the file systems are made from
# folders (mke2fs -d, mtools), so the build needs no loop device.
set -euo pipefail

out=$1
bin=$2
plugins=$3
keyring=$4
here=$(cd "$(dirname "$0")" && pwd)
mirror=${STAGEBOX_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

# Fixed partition GUIDs: the kernel command lines name the roots by them.
. "$here/slots.env"
# Reproducible file systems: fixed UUIDs and times.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1735689600}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH

mkdir -p "$out"
work=$out/work
root=$work/root
cache=$out/debootstrap-cache

# The root file system, from Debian packages. Kept between builds (a
# tarball of the debootstrap result) so a rebuild only reinstalls ours.
packages=systemd,systemd-sysv,udev,dbus,kmod,linux-image-amd64,initramfs-tools,iproute2,ca-certificates,\
libavcodec59,libavformat59,libavutil57,libswscale6,libswresample4,rauc,systemd-boot
base=$cache/$suite-$(echo "$packages" | sha256sum | cut -c1-12).tar
if [ ! -f "$base" ]; then
    echo "==> debootstrap $suite (once; cached in $base)"
    rm -rf "$root" && mkdir -p "$root" "$cache"
    debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$base.tmp" . && mv "$base.tmp" "$base"
fi
echo "==> root file system"
rm -rf "$work" && mkdir -p "$root"
tar -C "$root" -xf "$base"

# Ours: the daemon, its plugins, its unit and configuration.
install -D -m 0755 "$bin/stageboxd" "$root/usr/bin/stageboxd"
install -D -m 0755 "$bin/stagebox-boot" "$root/usr/bin/stagebox-boot"
mkdir -p "$root/usr/lib/stagebox/plugins"
cp -r "$plugins"/. "$root/usr/lib/stagebox/plugins/"
install -D -m 0644 "$here/stageboxd.service" "$root/etc/systemd/system/stageboxd.service"
install -D -m 0644 "$here/rootfs/etc/stagebox/stageboxd.toml" "$root/etc/stagebox/stageboxd.toml"
install -D -m 0644 "$here/../docs/appliance.md" "$root/usr/share/doc/stagebox/appliance.md"
cp -r "$here/rootfs/etc/." "$root/etc/"
install -D -m 0644 "$keyring" "$root/etc/rauc/keyring.pem"
chroot "$root" useradd --system --user-group --home-dir /var/lib/stagebox --shell /usr/sbin/nologin stagebox

# What systemd-firstboot would ask at the console, answered here (and
# the service masked): locale, time zone, host name; root has no
# password (the box is managed through its API, not a shell).
echo stagebox > "$root/etc/hostname"
echo LANG=C.UTF-8 > "$root/etc/locale.conf"
ln -sf /usr/share/zoneinfo/UTC "$root/etc/localtime"
chroot "$root" passwd --quiet --lock root
# An empty machine-id: systemd makes one per boot on a read-only root.
: > "$root/etc/machine-id"
ln -sf /dev/null "$root/etc/systemd/system/systemd-firstboot.service"
# No login prompt on the serial console (root is locked; the box is run
# through its API): systemd's status lines and the first-start credential
# stay readable there, rather than stopping once a getty takes it.
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@.service"
# The daemon, the network, RAUC, the boot health check and the API's
# reboot requests.
systemctl --root="$root" --quiet enable stageboxd.service systemd-networkd.service rauc.service \
    stagebox-health.service stagebox-boot-entries.service stagebox-reboot.path
# The state partition's mount point; /tmp and logs in memory.
mkdir -p "$root/var/lib/stagebox"

# The ESP: systemd-boot, and each slot's kernel and initrd.
echo "==> boot partition"
esp=$work/esp
mkdir -p "$esp/EFI/BOOT" "$esp/loader/entries" "$esp/a" "$esp/b"
cp /usr/lib/systemd/boot/efi/systemd-bootx64.efi "$esp/EFI/BOOT/BOOTX64.EFI"
kernel=$(ls "$root"/boot/vmlinuz-* | head -1)
initrd=$(ls "$root"/boot/initrd.img-* | head -1)
for slot in a b; do
    cp "$kernel" "$esp/$slot/vmlinuz"
    cp "$initrd" "$esp/$slot/initrd.img"
done
"$here/esp.sh" "$esp" --initrd

# File systems from the folders.
echo "==> file systems"
# The slot keeps its kernel and initrd in /boot: stagebox-boot copies them
# onto the ESP when an update activates the slot. The ESP's mount point
# must exist: the root is read-only when systemd mounts it.
mkdir -p "$root/boot/efi"
# Reproducible: what debootstrap and this script wrote today gets the
# fixed time (mke2fs -d and mcopy -m copy each file's times), and each file
# system a fixed directory hash seed. Two builds from one debootstrap
# cache give the same bytes (docs/appliance.md).
clamp_times() {
    find "$1" -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
}
# mke2fs -d also copies each file's access and change times, which touch
# cannot set back: give every inode in use in the file system IMG the
# fixed time instead (the inodes in use: all but each group's free ones).
settle_times() {
    dumpe2fs "$1" 2>/dev/null | awk -v t="@$SOURCE_DATE_EPOCH" '
        /^Inodes per group:/ { per_group = $4 }
        /^Group [0-9]+:/ { group = $2 + 0 }
        /^  Free inodes:/ {
            split("", free)
            ranges = $0
            sub(/^  Free inodes: */, "", ranges)
            n = split(ranges, range, /, */)
            for (i = 1; i <= n; i++) {
                if (range[i] == "") continue
                m = split(range[i], ends, "-")
                for (j = ends[1] + 0; j <= ends[m] + 0; j++) free[j] = 1
            }
            for (j = group * per_group + 1; j <= (group + 1) * per_group; j++)
                if (!(j in free)) print "sif <" j "> atime " t "\nsif <" j "> ctime " t
        }' > "$1.times"
    debugfs -w -f "$1.times" "$1" > /dev/null
    rm "$1.times"
}
clamp_times "$root"
root_mb=$(( $(du -sm "$root" | cut -f1) * 13 / 10 + 64 ))
mke2fs -q -t ext4 -L root-a -U 8c1b0f4e-0000-4000-8000-00000000000a \
    -E root_owner=0:0,hash_seed=8c1b0f4e-0000-4000-8000-0000000000a5 -d "$root" "$work/root-a.img" "${root_mb}M"
mke2fs -q -t ext4 -L root-b -U 8c1b0f4e-0000-4000-8000-00000000000b \
    -E hash_seed=8c1b0f4e-0000-4000-8000-0000000000b5 -d "$root" "$work/root-b.img" "${root_mb}M"
settle_times "$work/root-a.img"
settle_times "$work/root-b.img"
# The state partition belongs to stageboxd (so systemd never re-owns it),
# but for RAUC's slot status, root's own.
state=$work/state
mkdir -p "$state/rauc"
chmod 0700 "$state" "$state/rauc"
chown "$(chroot "$root" id -u stagebox):$(chroot "$root" id -g stagebox)" "$state"
clamp_times "$state"
mke2fs -q -t ext4 -L state -U 8c1b0f4e-0000-4000-8000-00000000000c \
    -E hash_seed=8c1b0f4e-0000-4000-8000-0000000000c5 -d "$state" "$work/state.img" 1G
settle_times "$work/state.img"
truncate -s 256M "$work/esp.img"
mkfs.vfat --invariant -n ESP -i 5354424b "$work/esp.img" >/dev/null
clamp_times "$esp"
MTOOLS_SKIP_CHECK=1 mcopy -s -m -i "$work/esp.img" "$esp"/* ::/

# The disk: the partitions at 1 MiB boundaries, then the images in them.
echo "==> disk"
disk=$out/stagebox.raw
total=$(( 1 + 256 + root_mb * 2 + 1024 + 1 ))
rm -f "$disk" && truncate -s "${total}M" "$disk"
sfdisk --quiet "$disk" <<EOF
label: gpt
label-id: 8C1B0F4E-5354-4B42-8000-000000000000
size=256MiB, type=uefi, name=esp, uuid=6b2a7c4e-5a1d-4f4e-9d3a-0a00000000e5
size=${root_mb}MiB, type=linux, name=root-a, uuid=$root_a_uuid
size=${root_mb}MiB, type=linux, name=root-b, uuid=$root_b_uuid
size=1GiB, type=linux, name=state, uuid=6b2a7c4e-5a1d-4f4e-9d3a-0a0000000c03
EOF
offset=1
for part in esp:256 root-a:$root_mb root-b:$root_mb state:1024; do
    name=${part%%:*}
    size=${part##*:}
    dd if="$work/$name.img" of="$disk" bs=1M seek=$offset conv=notrunc,sparse status=none
    offset=$(( offset + size ))
done
qemu-img convert -O qcow2 "$disk" "$out/stagebox.qcow2"
mv "$work/root-a.img" "$out/rootfs.ext4"
rm -rf "$work"
echo "==> $disk, $out/stagebox.qcow2 and $out/rootfs.ext4"
