# shellcheck shell=bash
# Sourced by bindings/apple/check-ios-staticlib.sh, bindings/android/check-android.sh and
# bindings/check-mobile-targets.sh: cross-compile clawlet-node for iOS and Android on a Linux
# machine that has neither Xcode nor the Android NDK, using Debian's clang.
#
# Why this works: a `cargo check` or a staticlib build never links, so no Apple or NDK linker
# is needed. The only C in the dependency tree is ring's (crypto primitives + perlasm assembly),
# built by the `cc` crate. ring's C needs nothing from a libc when RING_CORE_NOSTDLIBINC is
# defined (ring's own sysroot-less mode for wasm32 and musl): only <stddef.h>/<stdint.h>, which
# clang ships in its resource dir, and on Apple targets <TargetConditionals.h>, which we supply
# from a tiny shim "SDK" (cc insists on an SDK root for iOS; SDKROOT points it at the shim
# instead of running xcrun). `-nostdlibinc` keeps the host's glibc headers out, and
# `-ffreestanding` keeps clang's own headers from reaching for a libc.
#
# The objects made this way are real Mach-O arm64 / ELF objects for the target, but they are
# for checking only: a shipped iOS library is built on macOS with Xcode
# (bindings/apple/build-xcframework.sh) and Android libraries with the NDK
# (bindings/android/build-jnilibs.sh).

MOBILE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CLAWLET_MOBILE_TARGET_DIR:-$MOBILE_ROOT/target/mobile}"
# No debuginfo: these builds are only checked, never debugged; it cuts the iOS staticlib from
# ~110 MB to ~45 MB and its cold build by ~15 %.
export CARGO_PROFILE_DEV_DEBUG=0
IOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-13.0}"
ANDROID_API="${CLAWLET_ANDROID_API:-21}"

mobile_log() { printf '==> %s\n' "$*"; }
mobile_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Debian's clang (compiler) and llvm (llvm-ar, llvm-nm, llvm-readobj); installed if missing.
mobile_need_llvm() {
    local missing=()
    for tool in clang llvm-ar llvm-nm llvm-readobj; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    mobile_log "installing Debian clang + llvm (missing: ${missing[*]})"
    command -v apt-get >/dev/null 2>&1 ||
        mobile_die "need ${missing[*]} (Debian packages clang and llvm) and apt-get is not available"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq clang llvm >/dev/null ||
        mobile_die "apt-get install clang llvm failed"
    for tool in clang llvm-ar llvm-nm llvm-readobj; do
        command -v "$tool" >/dev/null 2>&1 || mobile_die "$tool still missing after installing clang llvm"
    done
}

# rustup targets (rust-std only); added if missing.
mobile_need_targets() {
    local installed missing=()
    installed="$(rustup target list --installed)"
    for t in "$@"; do
        grep -qx "$t" <<<"$installed" || missing+=("$t")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    mobile_log "rustup target add ${missing[*]}"
    rustup target add "${missing[@]}" >/dev/null ||
        mobile_die "rustup target add ${missing[*]} failed"
}

# The cc-crate environment for one target triple: clang + llvm-ar, sysroot-less ring.
mobile_cc_env() {
    local triple="$1" var clang_target
    var="${triple//-/_}"
    # -ffreestanding: clang's x86 intrinsics headers (ring's x86_64 curve25519 ADX code) pull in
    # <stdlib.h> unless __STDC_HOSTED__ is 0.
    local cflags="-ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1"
    case "$triple" in
        *-apple-ios*)
            local shim="$CARGO_TARGET_DIR/ios-sdk-shim"
            mkdir -p "$shim/usr/include"
            # Only what ring's base.h reads from it; a real SDK has the full header.
            cat >"$shim/usr/include/TargetConditionals.h" <<'EOF'
/* Shim for cross-checking on Linux (bindings/mobile-env.sh); not Apple's header. */
#pragma once
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 0
#define TARGET_OS_IPHONE 1
#define TARGET_OS_IOS 1
#define TARGET_OS_SIMULATOR 0
EOF
            export SDKROOT="$shim"
            export IPHONEOS_DEPLOYMENT_TARGET="$IOS_DEPLOYMENT_TARGET"
            cflags="$cflags -isystem $shim/usr/include"
            ;;
        *-linux-android*)
            # cc passes --target=<triple> without an API level; the last --target wins.
            case "$triple" in
                armv7-linux-androideabi) clang_target="armv7a-linux-androideabi$ANDROID_API" ;;
                *) clang_target="$triple$ANDROID_API" ;;
            esac
            cflags="--target=$clang_target $cflags"
            ;;
    esac
    export "CC_$var=clang" "AR_$var=llvm-ar" "CFLAGS_$var=$cflags"
}

# `mobile_timed LABEL CMD...`: runs CMD and prints how long it took.
mobile_timed() {
    local label="$1" start end
    shift
    start=$(date +%s)
    "$@"
    end=$(date +%s)
    mobile_log "$label: done in $((end - start)) s"
}
