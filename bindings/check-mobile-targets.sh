#!/usr/bin/env bash
# Checks on Linux that clawlet-node builds for iOS and Android (no Xcode, no NDK needed):
#   1. bindings/apple/check-ios-staticlib.sh: the aarch64-apple-ios staticlib, with every
#      function of the generated ClawletFFI.h defined in it;
#   2. bindings/android/check-android.sh: `cargo check` for the four Android ABIs.
# Installs Debian clang/llvm and the rustup targets if missing. Builds in target/mobile
# (CLAWLET_MOBILE_TARGET_DIR), so the host build in target/ is not invalidated.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=mobile-env.sh
source "$here/mobile-env.sh"

start=$(date +%s)
mobile_log "mobile targets: building in $CARGO_TARGET_DIR"
mobile_timed "iOS (aarch64-apple-ios staticlib)" "$here/apple/check-ios-staticlib.sh"
mobile_timed "Android (4 ABIs, cargo check)" "$here/android/check-android.sh"
mobile_log "mobile targets OK in $(($(date +%s) - start)) s"
