#!/usr/bin/env bash
# Builds examples/embedded/firmware for thumbv7em-none-eabihf (Cortex-M4F), runs it under
# qemu-system-arm (machine netduinoplus2 = STM32F405: 1 MiB flash, 128 KiB SRAM) with semihosting:
# a full NodeSession handshake and one invoke against frames replayed from flash. Prints
# `embedded selftest ok flash_bytes=N heap_peak_bytes=M` last.
#
# flash_bytes = Berkeley `text` + `data` of binutils `size` on the firmware ELF, i.e.
#   .vector_table + .text + .rodata (text) + .data (its initialiser is stored in flash).
# heap_peak_bytes = the firmware's own high-water mark of the heap's bytes in use.
# Fails (non-zero) on any build/run failure, or when flash > 160 KiB or heap peak > 32 KiB.
#
# Env: CARGO_TARGET_DIR (default: <repo>/target/embedded).
set -euo pipefail

FLASH_BUDGET=$((160 * 1024))
HEAP_BUDGET=$((32 * 1024))
TARGET=thumbv7em-none-eabihf
PROFILE=nostd
MACHINE=netduinoplus2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/embedded}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac

need_apt() { # install a Debian package when its command is missing (fresh machines, as root)
    local cmd="$1" pkg="$2"
    if ! command -v "$cmd" >/dev/null 2>&1; then
        echo "run-embedded-qemu: installing $pkg (no $cmd)" >&2
        apt-get update && apt-get install -y "$pkg"
    fi
}
need_apt qemu-system-arm qemu-system-arm
need_apt size binutils    # GNU size reads the ARM ELF through BFD's generic ELF support
need_apt cc gcc           # build scripts and proc-macros are linked for the host
if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi

# cargo reads examples/embedded/firmware/.cargo/config.toml (target, -Tlink.x) only from that cwd.
(cd examples/embedded/firmware && cargo build --profile "$PROFILE")
ELF="$CARGO_TARGET_DIR/$TARGET/$PROFILE/clawlet-firmware"

size -A "$ELF" | awk '$1 ~ /^\.(vector_table|text|rodata|data|bss|uninit)$/ { printf "  %-14s %7d\n", $1, $2 }'
read -r text data bss < <(size "$ELF" | awk 'NR == 2 { print $1, $2, $3 }')
[[ "$text" =~ ^[0-9]+$ && "$data" =~ ^[0-9]+$ ]] || { echo "run-embedded-qemu: could not size $ELF" >&2; exit 1; }
flash_bytes=$((text + data))

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
set +e
timeout 60 qemu-system-arm -machine "$MACHINE" -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$ELF" 2>&1 | tee "$LOG"
status=("${PIPESTATUS[@]}")
set -e
if [[ "${status[0]}" -ne 0 ]]; then
    [[ "${status[0]}" -eq 124 ]] && echo "run-embedded-qemu: QEMU timed out after 60 s" >&2
    echo "run-embedded-qemu: FAIL: firmware exited with status ${status[0]}" >&2
    exit 1
fi

heap_peak_bytes="$(sed -n 's/^firmware selftest ok heap_peak_bytes=\([0-9]*\).*/\1/p' "$LOG" | tail -n 1)"
[[ -n "$heap_peak_bytes" ]] || { echo "run-embedded-qemu: FAIL: no 'firmware selftest ok' line" >&2; exit 1; }

fail=0
if ((flash_bytes > FLASH_BUDGET)); then
    echo "run-embedded-qemu: FAIL: flash_bytes=$flash_bytes > budget $FLASH_BUDGET (160 KiB)" >&2
    fail=1
fi
if ((heap_peak_bytes > HEAP_BUDGET)); then
    echo "run-embedded-qemu: FAIL: heap_peak_bytes=$heap_peak_bytes > budget $HEAP_BUDGET (32 KiB)" >&2
    fail=1
fi
if ((fail)); then
    echo "embedded selftest over budget flash_bytes=$flash_bytes heap_peak_bytes=$heap_peak_bytes"
    exit 1
fi
echo "embedded selftest ok flash_bytes=$flash_bytes heap_peak_bytes=$heap_peak_bytes"
