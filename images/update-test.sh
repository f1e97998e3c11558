#!/bin/bash
# A/B updates and automatic rollback, on the real image under qemu (TCG),
# through the HTTPS API, within bounded time:
#
#   1. a bundle signed by a key the image does not trust is refused, and
#      nothing changes;
#   2. the build's signed bundle is written to slot b; after a reboot through the API
#      the box runs slot b, the health check passes and systemd-bless-boot
#      keeps the slot;
#   3. a signed bundle whose stageboxd cannot start (its configuration is
#      broken) is written to slot a; after the reboot slot a is tried three
#      times, never gets healthy, and the box comes back on slot b by
#      itself, with slot a marked bad.
#
#   images/update-test.sh OUT [SECONDS]
#
# OUT is what `cargo xtask image` made: stagebox.qcow2, the update bundle
# stagebox-update.raucb, rootfs.ext4 and keys/ (the development signing
# keys). The image itself is never written:
# the guest runs on an overlay.
set -euo pipefail

test_name="update test"
out=$(realpath "$1")
limit=${2:-900}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu-lib.sh"
keys=$out/keys

echo "==> bundles: the build's, a broken one, an untrusted one"
good=$out/stagebox-update.raucb
# Checked here as the image will check it: under the keyring, for code signing.
printf '[system]\ncompatible=stagebox-x86_64\nbootloader=noop\n[keyring]\npath=%s\ncheck-purpose=codesign\n' \
    "$keys/ca.cert.pem" > "$work/verify.conf"
version=$(rauc -c "$work/verify.conf" info --output-format=json "$good" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])') || fail "$good does not verify"
# The same bundle, signed again by a key the image does not trust (rauc
# resign checks the old signature and the new one: give it both).
cat "$keys/ca.cert.pem" "$keys/untrusted.cert.pem" > "$work/both.pem"
rauc -c "$work/verify.conf" resign --keyring="$work/both.pem" --cert="$keys/untrusted.cert.pem" \
    --key="$keys/untrusted.key.pem" "$good" "$work/untrusted.raucb" >/dev/null 2>&1 || fail "cannot re-sign $good"
# The broken root: stageboxd refuses its configuration and never gets READY.
cp --sparse=always "$out/rootfs.ext4" "$work/broken.ext4"
printf 'listen = "not an address"\n' > "$work/broken.toml"
debugfs -w -R "rm /etc/stagebox/stageboxd.toml" "$work/broken.ext4" >/dev/null 2>&1
debugfs -w -R "write $work/broken.toml /etc/stagebox/stageboxd.toml" "$work/broken.ext4" >/dev/null 2>&1
debugfs -R "cat /etc/stagebox/stageboxd.toml" "$work/broken.ext4" 2>/dev/null | grep -c "not an address" >/dev/null \
    || fail "could not break the test root file system"
bash "$here/bundle.sh" "$work/broken.raucb" "$work/broken.ext4" broken "$keys/signing.cert.pem" "$keys/signing.key.pem"
rm -f "$work/broken.ext4"
started=$(date +%s)

# slots FIELD...: the update status, as "booted primary [bootname:boot_status:bundle_version]..."
slots() {
    api GET /api/v1/system/update | head -n -1 | python3 -c '
import json, sys
s = json.load(sys.stdin)
if not s.get("available"):
    sys.exit("updates unavailable: %s" % s.get("reason"))
parts = [s["booted"], s["primary"]]
parts += ["%s:%s:%s" % (x["bootname"], x["boot_status"], x["bundle_version"]) for x in s["slots"]]
print(" ".join(parts))'
}
# upload BUNDLE: prints the status code, then the body.
upload() { api POST /api/v1/system/update -H 'Content-Type: application/octet-stream' --upload-file "$1"; }
code_of() { tail -n 1 <<< "$1"; }
body_of() { head -n -1 <<< "$1"; }
reboot_box() {
    local answer
    answer=$(api POST /api/v1/system/reboot)
    [ "$(code_of "$answer")" = 202 ] || fail "reboot answered $answer"
    mark_boot
    wait_for "the reboot" on_console "reboot: Restarting system"
}

start_vm "$out/stagebox.qcow2"
wait_booted
login
state=$(slots) || fail "no update status: $state"
echo "    slots: $state"
[[ $state == "a a "* ]] || fail "a fresh box should run slot a and boot it next: $state"

echo "==> 1. an untrusted bundle is refused"
answer=$(upload "$work/untrusted.raucb")
[ "$(code_of "$answer")" = 422 ] || fail "an untrusted bundle answered $answer"
body_of "$answer" | grep -c "signature verification failed" >/dev/null || fail "the refusal does not say why: $answer"
echo "    refused: $(body_of "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["detail"])')"
[[ $(slots) == "a a "* ]] || fail "a refused bundle changed the slots: $(slots)"

echo "==> 2. a signed bundle is installed into slot b and kept"
answer=$(upload "$good")
[ "$(code_of "$answer")" = 200 ] || fail "the signed bundle answered $answer"
echo "    installed after $(elapsed) s"
state=$(slots)
[[ $state == "a b "* ]] || fail "slot b should boot next: $state"
reboot_box
wait_booted
wait_for "the trial boot of slot b healthy" on_console "stagebox-boot: healthy"
# systemd-bless-boot dropped the entry's counter: the slot is kept.
wait_for "slot b kept (its entry blessed)" on_console "in boot order: stagebox-b.conf (generation 2), stagebox-a.conf"
login
state=$(slots)
echo "    slots: $state"
[[ $state == "b b "* ]] || fail "the box should run slot b: $state"
[[ $state == *"b:good:$version"* ]] || fail "slot b should hold bundle $version, good: $state"

echo "==> 3. a bundle whose stageboxd never gets READY rolls back by itself"
answer=$(upload "$work/broken.raucb")
[ "$(code_of "$answer")" = 200 ] || fail "the broken bundle answered $answer"
[[ $(slots) == "b a "* ]] || fail "slot a should boot next: $(slots)"
reboot_box
tries=0
while [ "$tries" -lt 3 ]; do
    wait_for "unhealthy trial boot $(( tries + 1 ))" on_console "stagebox-boot: unhealthy trial boot"
    tries=$(( tries + 1 ))
    mark_boot
done
wait_booted
wait_for "slot a's tries spent, slot b first" on_console \
    "in boot order: stagebox-b.conf (generation 2), stagebox-a+0-3.conf (generation 3)"
login
state=$(slots)
echo "    slots: $state"
[[ $state == "b b "* ]] || fail "the box should be back on slot b: $state"
[[ $state == *"a:bad:broken"* ]] || fail "slot a should be bad: $state"
on_console "stagebox-boot: unhealthy" && fail "the rolled-back boot was not healthy"
echo "update test: passed in $(elapsed) s (untrusted refused, update kept, broken update rolled back)"
