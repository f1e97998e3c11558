#!/bin/bash
# Boots the appliance image under qemu (TCG: these machines' KVM guests
# abort) and checks, within bounded time, that
#   - the firmware, systemd-boot and the kernel boot it, from slot a,
#   - stageboxd reaches READY (systemd reports the unit started, which for
#     Type=notify is READY=1),
#   - the HTTPS API's /health answers through a forwarded port,
#   - the first-boot admin credential, printed on the console, logs in,
#   - no unit failed while systemd printed its status (it stops once
#     stageboxd, which writes to the console too, runs).
#
#   images/boot-test.sh IMAGE.qcow2 [SECONDS]
#
# The image itself is never written: the guest runs on an overlay.
set -euo pipefail

test_name="boot test"
image=$1
limit=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu-lib.sh"

start_vm "$image"
wait_booted
wait_for "slot a first in boot order" on_console \
    "in boot order: stagebox-a.conf (generation 1), stagebox-b.conf (generation 0)"
login
status=$(curl -sk --max-time 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    "https://127.0.0.1:$port/api/v1/pipelines")
[ "$status" = 200 ] || fail "an authenticated request answered $status"
# Every unit of the boot came up: systemd prints [FAILED] for any that did not.
if on_console "\[FAILED\]"; then
    fail "a unit failed: $(plain_console | grep -a '\[FAILED\]' | head -3)"
fi
echo "boot test: passed in $(elapsed) s (booted, READY, /health, logged in as admin)"
