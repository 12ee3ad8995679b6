#!/usr/bin/env bash
# Builds clawlet-node-embedded for thumbv7em-none-eabihf and riscv32imac-unknown-none-elf, then
# examples/embedded/nostd-host — a #![no_std] #![no_main] Linux binary with its own
# #[panic_handler] that links clawlet-node-core — runs it, and prints `text_bytes=N` last.
#
# A std leak anywhere in node-core's dependency graph fails the build ("duplicate lang item
# `panic_impl`"), so a green run proves the core is no_std + alloc only.
# text_bytes = the Berkeley `text` column of binutils `size` (all read-only loadable sections:
# .text, .rodata, .eh_frame, PLT, ... of the stripped, size-optimised binary).
#
# Env: CARGO_TARGET_DIR (default: <repo>/target/embedded).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/embedded}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac

need_apt() { # install a Debian package when its command is missing (fresh machines, as root)
    local cmd="$1" pkg="$2"
    if ! command -v "$cmd" >/dev/null 2>&1; then
        echo "check-nostd: installing $pkg (no $cmd)" >&2
        apt-get update && apt-get install -y "$pkg"
    fi
}
need_apt cc gcc          # links the host binary (crt1.o + libc)
need_apt size binutils   # measures the text segment

# node-embedded (WebSocket client, NodeSession driver, flash store; TLS with feature `tls`) for
# the two microcontroller targets: neither has a `std` in its sysroot, so any std use in the
# crate or its dependencies fails these builds.
for target in thumbv7em-none-eabihf riscv32imac-unknown-none-elf; do
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        echo "check-nostd: adding rust target $target" >&2
        rustup target add "$target"
    fi
    cargo build -p clawlet-node-embedded --target "$target" --profile nostd
    cargo build -p clawlet-node-embedded --target "$target" --profile nostd --features tls
    echo "check-nostd: node-embedded builds for $target (with and without tls)"
done

MANIFEST=examples/embedded/nostd-host/Cargo.toml
PROFILE=nostd
cargo build --manifest-path "$MANIFEST" --profile "$PROFILE"
BIN="$CARGO_TARGET_DIR/$PROFILE/clawlet-nostd-host"

# Run it; a failed check or a panic exits non-zero and so fails this script.
timeout 60 "$BIN"

text_bytes="$(size "$BIN" | awk 'NR == 2 { print $1 }')"
[[ "$text_bytes" =~ ^[0-9]+$ ]] || { echo "check-nostd: could not read text size of $BIN" >&2; exit 1; }
echo "text_bytes=$text_bytes"
