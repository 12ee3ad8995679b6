#!/usr/bin/env bash
# Checks on Linux that clawlet-node builds for iOS and Android (no Xcode, no NDK needed):
#   1. bindings/apple/check-ios-staticlib.sh: the aarch64-apple-ios staticlib, with every
#      function of the generated ClawletFFI.h defined in it;
#   2. bindings/android/check-android.sh: `cargo check` for the four Android ABIs;
#   3. bindings/apple/check-swift-syntax.py: the hand-written Swift (XCTests, Package.swift,
#      examples/ios) parses (tree-sitter-swift; no Swift compiler here);
#   4. examples/android/compile-check/check.sh: the Android example type-checks with kotlinc
#      against the generated Kotlin bindings (Android classes stubbed).
# Installs Debian clang/llvm, the rustup targets and (into a venv under ~/.cache/clawlet) the
# two tree-sitter wheels from PyPI if missing. Builds in target/mobile
# (CLAWLET_MOBILE_TARGET_DIR), so the host build in target/ is not invalidated.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=mobile-env.sh
source "$here/mobile-env.sh"

start=$(date +%s)
mobile_log "mobile targets: building in $CARGO_TARGET_DIR"
mobile_timed "iOS (aarch64-apple-ios staticlib)" "$here/apple/check-ios-staticlib.sh"
mobile_timed "Android (4 ABIs, cargo check)" "$here/android/check-android.sh"

venv="${CLAWLET_CACHE:-$HOME/.cache/clawlet}/swift-syntax"
if ! "$venv/bin/python" -c 'import tree_sitter, tree_sitter_swift' 2>/dev/null; then
    mobile_log "installing tree-sitter + tree-sitter-swift into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        tree-sitter==0.26.1 tree-sitter-swift==0.7.4 || mobile_die "pip install tree-sitter tree-sitter-swift failed"
fi
mobile_timed "Swift syntax" "$venv/bin/python" "$here/apple/check-swift-syntax.py"
mobile_timed "Android example (kotlinc)" "$MOBILE_ROOT/examples/android/compile-check/check.sh"
mobile_log "mobile targets OK in $(($(date +%s) - start)) s"
