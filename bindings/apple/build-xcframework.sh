#!/usr/bin/env bash
# Builds ClawletFFI.xcframework (the clawlet-node static library + the UniFFI C header) and lays
# out the Swift package in bindings/apple/ (Package.swift: binary target ClawletFFI + Swift
# target Clawlet from the generated bindings/swift/Sources/Clawlet/Clawlet.swift).
#
# Needs:  macOS with Xcode (xcodebuild, lipo, xcrun) and rustup with the targets
#           rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#           rustup target add aarch64-apple-darwin x86_64-apple-darwin   # unless --no-macos
#         and the generated Swift bindings (bindings/generate.sh).
# Usage:  bindings/apple/build-xcframework.sh [--debug] [--no-macos] [--test]
#           --debug     build the dev profile (default: release)
#           --no-macos  leave out the macOS slice (then `swift test` cannot run on the Mac;
#                       run the tests on a simulator with xcodebuild instead)
#           --test      run `swift test` in bindings/apple afterwards (XCTest on the Mac)
# Output: bindings/apple/build/ClawletFFI.xcframework
#           ios-arm64/                     aarch64-apple-ios
#           ios-arm64_x86_64-simulator/    aarch64-apple-ios-sim + x86_64-apple-ios (lipo)
#           macos-arm64_x86_64/            aarch64-apple-darwin + x86_64-apple-darwin (lipo)
#         bindings/apple/Sources/Clawlet/Clawlet.swift (a copy of the generated file; SwiftPM
#         does not accept target sources outside the package directory).
# On Linux, bindings/apple/check-ios-staticlib.sh checks the iOS staticlib without Xcode.
set -euo pipefail
# (Written for macOS's /bin/bash 3.2: no associative arrays, no mapfile.)

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
log() { printf '==> %s\n' "$*"; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

profile=release
with_macos=1
run_tests=0
for arg in "$@"; do
    case "$arg" in
        --debug) profile=debug ;;
        --no-macos) with_macos=0 ;;
        --test) run_tests=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument $arg (see --help)" ;;
    esac
done

[ "$(uname -s)" = Darwin ] ||
    die "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo). On Linux run bindings/apple/check-ios-staticlib.sh, which builds and checks the iOS staticlib without Xcode."
for tool in xcodebuild xcrun lipo cargo rustup; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (install Xcode and its command line tools, and rustup)"
done
xcodebuild -version >/dev/null 2>&1 ||
    die "xcodebuild does not work: install Xcode and run 'sudo xcode-select -s /Applications/Xcode.app'"

ios_targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
mac_targets=(aarch64-apple-darwin x86_64-apple-darwin)
targets=("${ios_targets[@]}")
[ "$with_macos" = 1 ] && targets+=("${mac_targets[@]}")
installed="$(rustup target list --installed)"
for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$installed" || die "rustup target $t missing: rustup target add ${targets[*]}"
done

swift_src="$root/bindings/swift/Sources/Clawlet/Clawlet.swift"
ffi_dir="$root/bindings/swift/Sources/ClawletFFI"
[ -f "$swift_src" ] && [ -f "$ffi_dir/ClawletFFI.h" ] ||
    die "generated Swift bindings missing ($swift_src, $ffi_dir/ClawletFFI.h): run bindings/generate.sh first"

export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-13.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-10.15}"
# Our own target dir, so the host build is not invalidated by the deployment-target env.
export CARGO_TARGET_DIR="${CLAWLET_APPLE_TARGET_DIR:-$root/target/apple}"
# Release builds use the size-optimised [profile.mobile] of the root Cargo.toml; the library
# carries only what phones run (no headless node, no system.run / process spawning).
cargo_profile=()
profile_dir=debug
if [ "$profile" = release ]; then
    cargo_profile=(--profile mobile)
    profile_dir=mobile
fi

cd "$root"
for t in "${targets[@]}"; do
    log "cargo rustc -p clawlet-node --lib --target $t --crate-type staticlib ($profile)"
    start=$(date +%s)
    # --crate-type staticlib: the crate also lists cdylib, which an XCFramework does not need.
    # ${a[@]+...}: macOS's bash 3.2 calls an empty array unbound under `set -u`.
    cargo rustc --locked -p clawlet-node --lib --no-default-features --features mobile \
        ${cargo_profile[@]+"${cargo_profile[@]}"} --target "$t" --crate-type staticlib
    log "$t: $(($(date +%s) - start)) s"
done

build="$here/build"
rm -rf "$build"
mkdir -p "$build/headers/ClawletFFI" "$build/ios-simulator" "$build/macos"
# Headers/ClawletFFI/module.modulemap rather than Headers/module.modulemap: Xcode copies every
# XCFramework's Headers into one include dir, where a second framework's module.modulemap
# would collide with ours; clang finds <ModuleName>/module.modulemap on its own.
cp "$ffi_dir/ClawletFFI.h" "$build/headers/ClawletFFI/"
if [ -f "$ffi_dir/module.modulemap" ]; then
    cp "$ffi_dir/module.modulemap" "$build/headers/ClawletFFI/module.modulemap"
elif [ -f "$ffi_dir/ClawletFFI.modulemap" ]; then
    cp "$ffi_dir/ClawletFFI.modulemap" "$build/headers/ClawletFFI/module.modulemap"
else
    die "no module map in $ffi_dir"
fi

lib() { echo "$CARGO_TARGET_DIR/$1/$profile_dir/libclawlet_node.a"; }
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" \
    -output "$build/ios-simulator/libclawlet_node.a"
xcf_args=(
    -library "$(lib aarch64-apple-ios)" -headers "$build/headers"
    -library "$build/ios-simulator/libclawlet_node.a" -headers "$build/headers"
)
if [ "$with_macos" = 1 ]; then
    lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" \
        -output "$build/macos/libclawlet_node.a"
    xcf_args+=(-library "$build/macos/libclawlet_node.a" -headers "$build/headers")
fi
log "xcodebuild -create-xcframework"
xcodebuild -create-xcframework "${xcf_args[@]}" -output "$build/ClawletFFI.xcframework"

mkdir -p "$here/Sources/Clawlet"
cp "$swift_src" "$here/Sources/Clawlet/Clawlet.swift"
# The hand-written helpers that ship with the bindings (NodeStatusStream.swift, ...).
cp "$(dirname "$swift_src")"/*.swift "$here/Sources/Clawlet/"
log "Swift package ready: $here/Package.swift (ClawletFFI.xcframework + Clawlet)"

if [ "$run_tests" = 1 ]; then
    [ "$with_macos" = 1 ] || die "--test runs XCTest on the Mac and needs the macOS slice (drop --no-macos)"
    log "swift test (set CLAWLET_E2E_GATEWAY_URL and CLAWLET_E2E_TOKEN for the gateway e2e test)"
    (cd "$here" && swift test)
fi
