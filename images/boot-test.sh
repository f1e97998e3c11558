#!/bin/bash
# Boots the appliance image under qemu (TCG: these machines' KVM guests
# abort) and checks, within bounded time, that
#   - the firmware, systemd-boot and the kernel boot it to multi-user,
#   - stageboxd reaches READY (systemd reports the unit started, which for
#     Type=notify is READY=1),
#   - the HTTPS API's /health answers through a forwarded port,
#   - the first-boot admin credential, printed on the console, logs in,
#   - no unit of the boot failed.
#
#   images/boot-test.sh IMAGE.qcow2 [SECONDS]
#
# The image itself is never written: the guest runs on an overlay.
set -euo pipefail

image=$(realpath "$1")
limit=${2:-600}
work=$(mktemp -d)
console=$work/console.log
qemu_pid=
cleanup() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    if [ "${keep:-0}" = 1 ]; then echo "console log kept in $console"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
    echo "boot test: FAILED: $*"
    echo "---- last lines of the console ----"
    plain_console 2>/dev/null | tail -n 40 || true
    keep=1
    exit 1
}

qemu-img create -q -f qcow2 -b "$image" -F qcow2 "$work/disk.qcow2"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
firmware=/usr/share/ovmf/OVMF.fd
started=$(date +%s)
qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp 2 -m 2048 \
    -bios "$firmware" \
    -drive if=virtio,file="$work/disk.qcow2",format=qcow2 \
    -netdev user,id=net0,hostfwd=tcp:127.0.0.1:$port-:8443 -device virtio-net-pci,netdev=net0 \
    -display none -monitor none -serial file:"$console" &
qemu_pid=$!

elapsed() { echo $(( $(date +%s) - started )); }
# Waits (bounded by the limit) until `check` succeeds.
wait_for() {
    local what=$1
    shift
    while ! "$@" >/dev/null 2>&1; do
        kill -0 "$qemu_pid" 2>/dev/null || fail "qemu exited while waiting for $what"
        [ "$(elapsed)" -lt "$limit" ] || fail "no $what after $limit s"
        sleep 2
    done
    echo "    $what after $(elapsed) s"
}

# The console, without carriage returns and colour escapes.
plain_console() { tr -d '\r' < "$console" | sed 's/\x1b\[[0-9;=]*[a-zA-Z]//g'; }
on_console() { plain_console | grep -aq "$1"; }
wait_for "systemd (the kernel handed over)" on_console "systemd.*running in system mode"
wait_for "stageboxd READY" on_console "Started stageboxd.service"
wait_for "multi-user" on_console "Reached target.*Multi-User System"
health() { curl -skf --max-time 5 "https://127.0.0.1:$port/health" | grep -q '"ok"'; }
wait_for "/health through the forwarded port" health

# The credential stageboxd printed on its first start.
line=$(plain_console | grep -a -m1 "first start: user admin, password") || fail "no credential on the console"
password=${line##*password }
password=${password%% *}
body=$(printf '{"username":"admin","password":"%s"}' "$password")
answer=$(curl -sk --max-time 10 -H 'Content-Type: application/json' -d "$body" "https://127.0.0.1:$port/api/v1/login") \
    || fail "login request failed"
token=$(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || fail "login: $answer"
status=$(curl -sk --max-time 10 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    "https://127.0.0.1:$port/api/v1/pipelines")
[ "$status" = 200 ] || fail "an authenticated request answered $status"
# Every unit of the boot came up: systemd prints [FAILED] for any that did not.
if plain_console | grep -aq "\[FAILED\]"; then
    fail "a unit failed: $(plain_console | grep -a '\[FAILED\]' | head -3)"
fi
echo "boot test: passed in $(elapsed) s (booted, READY, /health, logged in as admin)"
