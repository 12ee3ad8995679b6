#!/usr/bin/env bash
# Measures what the mobile library weighs: the clawlet-node library built with only what phones
# run (`--no-default-features --features mobile`) and the size-optimised [profile.mobile].
#
#   bindings/mobile-size.sh      prints one line per build it can make on this machine
#
# - aarch64-apple-ios: the staticlib (what the XCFramework holds) as built, and with debug
#   sections stripped (llvm-strip --strip-debug). A staticlib is not linked: the app's linker
#   drops unused code, so what an app grows by is smaller still and can only be measured with
#   Xcode.
# - x86_64-unknown-linux-gnu: the stripped cdylib, a linked library of the same code (the
#   closest stand-in here for Android's .so, whose link needs the NDK).
# - Android ABIs: not linked here (no NDK); bindings/android/check-android.sh `cargo check`s them.
set -euo pipefail
# shellcheck source=mobile-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mobile-env.sh"
cd "$MOBILE_ROOT"

features=(--no-default-features --features mobile)
size() { stat -c %s "$1"; }
human() { numfmt --to=iec-i --suffix=B "$1"; }

TARGET=aarch64-apple-ios
mobile_need_llvm
mobile_need_targets "$TARGET"
(
    mobile_cc_env "$TARGET"
    mobile_timed "ios staticlib (profile mobile)" cargo rustc --locked --quiet -p clawlet-node --lib \
        "${features[@]}" --profile mobile --target "$TARGET" --crate-type staticlib
)
lib="$CARGO_TARGET_DIR/$TARGET/mobile/libclawlet_node.a"
[ -s "$lib" ] || mobile_die "$lib was not produced"
stripped="$(mktemp)"
trap 'rm -f "$stripped"' EXIT
llvm-strip --strip-debug -o "$stripped" "$lib"
echo "aarch64-apple-ios staticlib: $(human "$(size "$lib")") as built, $(human "$(size "$stripped")") without debug sections"

mobile_timed "linux cdylib (profile mobile)" cargo rustc --locked --quiet -p clawlet-node --lib \
    "${features[@]}" --profile mobile --crate-type cdylib
so="$CARGO_TARGET_DIR/mobile/libclawlet_node.so"
[ -s "$so" ] || mobile_die "$so was not produced"
echo "x86_64-unknown-linux-gnu cdylib: $(human "$(size "$so")") stripped"
echo "Android ABIs: cargo check only here (linking needs the NDK): bindings/android/check-android.sh"
