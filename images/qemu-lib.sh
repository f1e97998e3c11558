# Shared by the qemu tests (boot-test.sh, update-test.sh): runs the image on
# an overlay under TCG (these machines' KVM guests abort), with the guest's
# HTTPS port forwarded and its serial console in a file, and waits on both
# within a bounded time. Source it, set `limit` (seconds), call start_vm.

work=$(mktemp -d)
console=$work/console.log
qemu_pid=
started=$(date +%s)
# Console lines before this one belong to earlier boots (see mark_boot).
mark=1

cleanup() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    if [ "${keep:-0}" = 1 ]; then echo "console log kept in $console"; else rm -rf "$work"; fi
}
trap cleanup EXIT

fail() {
    echo "${test_name:-qemu test}: FAILED: $*"
    echo "---- last lines of the console ----"
    plain_console 2>/dev/null | tail -n 40 || true
    keep=1
    exit 1
}

elapsed() { echo $(( $(date +%s) - started )); }

# start_vm IMAGE.qcow2: boots it on a fresh overlay; sets `port`.
start_vm() {
    qemu-img create -q -f qcow2 -b "$(realpath "$1")" -F qcow2 "$work/disk.qcow2"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp 2 -m 2048 \
        -bios /usr/share/ovmf/OVMF.fd \
        -drive if=virtio,file="$work/disk.qcow2",format=qcow2 \
        -netdev user,id=net0,hostfwd=tcp:127.0.0.1:$port-:8443 -device virtio-net-pci,netdev=net0 \
        -display none -monitor none -serial file:"$console" &
    qemu_pid=$!
}

# The console since the current boot's mark, without carriage returns and
# colour escapes.
plain_console() { tail -n +"$mark" "$console" | tr -d '\r' | sed 's/\x1b\[[0-9;=]*[a-zA-Z]//g'; }
# (grep -c reads to the end: `grep -q` would stop early, and the writer's
# SIGPIPE would fail the pipeline under pipefail.)
count_on_console() { plain_console | grep -ac "$1" || true; }
on_console() { [ "$(count_on_console "$1")" -gt 0 ]; }
# From now on, only what the console says after this point counts.
mark_boot() { mark=$(( $(wc -l < "$console") + 1 )); }

# wait_for WHAT COMMAND...: until the command succeeds, within the limit.
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

health() { curl -skf --max-time 5 "https://127.0.0.1:$port/health" | grep -q '"ok"'; }

# wait_booted: the kernel hands over, stageboxd is READY, /health answers.
# READY is what the boot health check prints once systemd reports the
# `Type=notify` unit active (systemd's own "Started" line is not always on
# the console: it stops printing status once a getty owns it).
wait_booted() {
    wait_for "systemd (the kernel handed over)" on_console "systemd.*running in system mode"
    wait_for "stageboxd READY" on_console "stagebox-boot: healthy: stageboxd.service READY"
    wait_for "/health through the forwarded port" health
}

# login: the admin credential stageboxd printed on its first start (in any
# boot) logs in; sets `token`.
login() {
    local line password body answer
    # grep reads the file itself: a reader stopping early in a pipe would
    # fail the pipeline (pipefail) once the log is long.
    line=$(grep -a -m1 "first start: user admin, password" "$console" | tr -d '\r') || fail "no credential on the console"
    password=${line##*password }
    password=${password%% *}
    body=$(printf '{"username":"admin","password":"%s"}' "$password")
    answer=$(curl -sk --max-time 10 -H 'Content-Type: application/json' -d "$body" "https://127.0.0.1:$port/api/v1/login") \
        || fail "login request failed"
    token=$(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || fail "login: $answer"
}

# api METHOD PATH [CURL ARGS...]: prints the status code then the body.
api() {
    local method=$1 path=$2
    shift 2
    curl -sk --max-time 600 -X "$method" -H "Authorization: Bearer $token" -w '\n%{http_code}' "$@" \
        "https://127.0.0.1:$port$path"
}
