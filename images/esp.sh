#!/bin/bash
# Writes the EFI system partition's systemd-boot configuration for the two
# root slots into OUT:
#
#   OUT/loader/loader.conf
#   OUT/loader/entries/stagebox-a.conf, stagebox-b.conf
#
#   images/esp.sh OUT [--initrd]
#
# One script for both images, so both boot, update and roll back alike:
# images/build.sh (Debian: its kernels boot with an initrd, --initrd) and
# the Yocto layer's stagebox-esp recipe (kernel drivers built in, no
# initrd). Each slot's kernel is /SLOT/vmlinuz on the ESP (and its initrd
# /SLOT/initrd.img); stagebox-boot replaces them and renames the entries
# when an update activates a slot (docs/appliance.md).
set -euo pipefail

out=$1
initrd=${2:-}
case $initrd in
    "" | --initrd) ;;
    *) echo "esp.sh: unknown option $initrd (usage: esp.sh OUT [--initrd])" >&2; exit 2 ;;
esac
. "$(dirname "$0")/slots.env"

mkdir -p "$out/loader/entries"
for slot in a b; do
    uuid=$root_a_uuid
    [ $slot = b ] && uuid=$root_b_uuid
    # The version line is the slot's generation: stagebox-boot gives a slot
    # it activates the next one, and systemd-boot boots the highest first.
    generation=1
    [ $slot = b ] && generation=0
    {
        echo "title   Stagebox (slot $slot)"
        echo "version $generation"
        echo "sort-key stagebox"
        echo "linux   /$slot/vmlinuz"
        [ -n "$initrd" ] && echo "initrd  /$slot/initrd.img"
        echo "options root=PARTUUID=$uuid ro rootwait rauc.slot=$slot console=tty0 console=ttyS0,115200 systemd.show_status=1"
    } > "$out/loader/entries/stagebox-$slot.conf"
done
# The first entry in systemd-boot's order: the newest generation whose
# boot counter (if any) has tries left. No auto-entries: only the slots.
printf 'default stagebox-*\ntimeout 0\nconsole-mode keep\nauto-entries no\n' > "$out/loader/loader.conf"
