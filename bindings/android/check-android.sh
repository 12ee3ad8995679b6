#!/usr/bin/env bash
# `cargo check`s the clawlet-node library for the four Android ABIs on Linux without the NDK:
#   arm64-v8a    aarch64-linux-android
#   armeabi-v7a  armv7-linux-androideabi
#   x86          i686-linux-android
#   x86_64       x86_64-linux-android
# A check runs every build script, so ring's C and assembly really are compiled for each target
# (by Debian's clang with --target=<triple><API>; see bindings/mobile-env.sh), and this verifies
# the objects are ELF for the right machine. It does not link: the shipped .so files come from
# build-jnilibs.sh with the NDK.
#
# Needs: the four rustup targets, Debian clang + llvm (all added if missing).
# CARGO_TARGET_DIR defaults to target/mobile, away from the host build.
set -euo pipefail
# shellcheck source=../mobile-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../mobile-env.sh"
cd "$MOBILE_ROOT"

TARGETS=(aarch64-linux-android armv7-linux-androideabi i686-linux-android x86_64-linux-android)
if [ "$#" -gt 0 ]; then TARGETS=("$@"); fi

mobile_need_llvm
mobile_need_targets "${TARGETS[@]}"

elf_machine() {
    case "$1" in
        aarch64-*) echo 'Arch: aarch64' ;;
        armv7-*) echo 'Arch: arm' ;;
        i686-*) echo 'Arch: i386' ;;
        x86_64-*) echo 'Arch: x86_64' ;;
    esac
}

for target in "${TARGETS[@]}"; do
    (
        mobile_cc_env "$target"
        mobile_log "cargo check -p clawlet-node --lib --no-default-features --features mobile --target $target"
        mobile_timed "$target check" cargo check --locked --quiet -p clawlet-node --lib \
            --no-default-features --features mobile --target "$target"
        # The newest ring build dir for this target holds the C objects the check compiled.
        out="$(ls -td "$CARGO_TARGET_DIR/$target"/debug/build/ring-*/out 2>/dev/null | head -1)"
        obj="$(ls "$out"/*-curve25519.o 2>/dev/null | head -1)"
        [ -n "$obj" ] || mobile_die "$target: ring's C objects are missing under $out"
        headers="$(llvm-readobj --file-headers "$obj")"
        want="$(elf_machine "$target")"
        grep -q "^Format: elf" <<<"$headers" && grep -q "^$want\$" <<<"$headers" ||
            mobile_die "$target: $(basename "$obj") is not an ELF object for '$want'"
    )
done
mobile_log "Android targets OK: ${TARGETS[*]}"
