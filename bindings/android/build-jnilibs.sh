#!/usr/bin/env bash
# Builds libclawlet_node.so for the four Android ABIs into the Gradle module's jniLibs:
#   bindings/android/clawlet/src/main/jniLibs/{arm64-v8a,armeabi-v7a,x86,x86_64}/libclawlet_node.so
#
# Needs:  the Android NDK (r25 or newer) with ANDROID_NDK_HOME (or ANDROID_NDK_ROOT) set,
#         cargo-ndk:      cargo install cargo-ndk
#         rustup targets: rustup target add aarch64-linux-android armv7-linux-androideabi \
#                                           i686-linux-android x86_64-linux-android
# Usage:  bindings/android/build-jnilibs.sh [--debug] [ABI...]     (default: all four, release)
# Then:   cd bindings/android && gradle :clawlet:assembleRelease   (the AAR; see README there)
# Without an NDK, bindings/android/check-android.sh still `cargo check`s the four targets.
set -euo pipefail

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
log() { printf '==> %s\n' "$*"; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
api="${CLAWLET_ANDROID_API:-21}"

profile=release
abis=(arm64-v8a armeabi-v7a x86 x86_64)
chosen=""
for arg in "$@"; do
    case "$arg" in
        --debug) profile=debug ;;
        arm64-v8a | armeabi-v7a | x86 | x86_64) chosen="$chosen $arg" ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument $arg (ABIs: arm64-v8a armeabi-v7a x86 x86_64)" ;;
    esac
done
[ -z "$chosen" ] || read -r -a abis <<<"$chosen"

ndk="${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}"
[ -n "$ndk" ] || die "ANDROID_NDK_HOME is not set: install the NDK (Android Studio > SDK Manager > NDK, or sdkmanager 'ndk;27.2.12479018') and export ANDROID_NDK_HOME=<sdk>/ndk/<version>"
[ -d "$ndk/toolchains/llvm/prebuilt" ] || die "ANDROID_NDK_HOME=$ndk does not look like an NDK (no toolchains/llvm/prebuilt)"
export ANDROID_NDK_HOME="$ndk"
cargo ndk --version >/dev/null 2>&1 || die "cargo-ndk is not installed: cargo install cargo-ndk"

# A function, not an associative array: macOS's /bin/bash 3.2 has none.
triple() {
    case "$1" in
        arm64-v8a) echo aarch64-linux-android ;;
        armeabi-v7a) echo armv7-linux-androideabi ;;
        x86) echo i686-linux-android ;;
        x86_64) echo x86_64-linux-android ;;
    esac
}
installed="$(rustup target list --installed)"
for abi in "${abis[@]}"; do
    t="$(triple "$abi")"
    grep -qx "$t" <<<"$installed" || die "rustup target $t missing: rustup target add $t"
done

out="$here/clawlet/src/main/jniLibs"
# Own target dir: the NDK's compiler env must not invalidate the host build in target/.
export CARGO_TARGET_DIR="${CLAWLET_ANDROID_TARGET_DIR:-$root/target/android}"
ndk_args=(--platform "$api" -o "$out")
for abi in "${abis[@]}"; do ndk_args+=(-t "$abi"); done
# Only what phones run (no headless node, no system.run / process spawning); release builds use
# the size-optimised [profile.mobile] of the root Cargo.toml.
cargo_args=(build --locked -p clawlet-node --lib --no-default-features --features mobile)
[ "$profile" = release ] && cargo_args+=(--profile mobile)

cd "$root"
start=$(date +%s)
log "cargo ndk ${ndk_args[*]} ${cargo_args[*]}"
cargo ndk "${ndk_args[@]}" "${cargo_args[@]}"
for abi in "${abis[@]}"; do
    so="$out/$abi/libclawlet_node.so"
    [ -s "$so" ] || die "$so was not produced"
    log "$abi: $(du -h "$so" | cut -f1) $so"
done
log "jniLibs ready in $(($(date +%s) - start)) s"
