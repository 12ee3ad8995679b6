#!/usr/bin/env bash
# Builds the clawlet-node static library for iOS (aarch64-apple-ios) on Linux, without Xcode,
# and checks it: every member is a Mach-O arm64 object for iOS, and every C function that the
# generated Swift header (bindings/swift/Sources/ClawletFFI/ClawletFFI.h) declares is defined in
# the archive, so the XCFramework that build-xcframework.sh makes on macOS links.
#
# Needs: rustup target aarch64-apple-ios, Debian clang + llvm (both installed if missing).
# How C is cross-compiled without an SDK: see bindings/mobile-env.sh.
#
# The crate's crate-type also lists cdylib, and linking an iOS dylib needs Apple's linker, so
# this builds with `cargo rustc --crate-type staticlib` (the staticlib alone) instead of
# `cargo build --lib`. Output: $CARGO_TARGET_DIR/aarch64-apple-ios/debug/libclawlet_node.a
# (CARGO_TARGET_DIR defaults to target/mobile, away from the host build).
set -euo pipefail
# shellcheck source=../mobile-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../mobile-env.sh"
cd "$MOBILE_ROOT"

TARGET=aarch64-apple-ios
HEADER="${CLAWLET_FFI_HEADER:-$MOBILE_ROOT/bindings/swift/Sources/ClawletFFI/ClawletFFI.h}"

mobile_need_llvm
mobile_need_targets "$TARGET"
mobile_cc_env "$TARGET"

# The mobile feature set: only what phones run (no headless node, no system.run).
mobile_log "cargo rustc -p clawlet-node --lib --no-default-features --features mobile --target $TARGET --crate-type staticlib"
mobile_timed "ios staticlib" \
    cargo rustc --locked --quiet -p clawlet-node --lib --no-default-features --features mobile \
    --target "$TARGET" --crate-type staticlib

LIB="$CARGO_TARGET_DIR/$TARGET/debug/libclawlet_node.a"
[ -s "$LIB" ] || mobile_die "$LIB was not produced"
mobile_log "$LIB: $(du -h "$LIB" | cut -f1)"

# Every object is Mach-O arm64 and says iOS (LC_BUILD_VERSION platform ios), ring's C and
# assembly included.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
members="$(llvm-ar t "$LIB")"
ring_obj="$(grep -m1 -- '-curve25519\.o$' <<<"$members" || true)"
[ -n "$ring_obj" ] || mobile_die "ring's C objects (curve25519.o) are missing from $LIB"
(cd "$work" && llvm-ar x "$LIB" "$ring_obj")
headers="$(llvm-readobj --file-headers "$work/$ring_obj")"
grep -q 'Format: Mach-O arm64' <<<"$headers" || mobile_die "$ring_obj is not Mach-O arm64"
grep -q 'platform ios' <(llvm-objdump --macho --private-headers "$work/$ring_obj") ||
    mobile_die "$ring_obj is not built for the iOS platform"
non_macho="$(llvm-readobj --file-headers "$LIB" 2>/dev/null | grep '^Format:' | grep -vc 'Mach-O arm64' || true)"
[ "$non_macho" = 0 ] || mobile_die "$non_macho members of $LIB are not Mach-O arm64"

# The UniFFI symbols (Mach-O prefixes C names with '_'). --no-llvm-bc: Rust's std objects for
# Apple targets embed LLVM bitcode newer than Debian's llvm-nm reads; the machine code's symbol
# table is what matters.
defined="$(llvm-nm --no-llvm-bc --defined-only --extern-only "$LIB" | awk '$2 == "T" { sub(/^_/, "", $3); print $3 }' | sort -u)"
[ -n "$defined" ] || mobile_die "llvm-nm listed no symbols in $LIB"
uniffi_count="$(grep -c '^uniffi_' <<<"$defined" || true)"
[ "$uniffi_count" -gt 0 ] || mobile_die "no uniffi_* symbols in $LIB (is the UniFFI surface in node-ffi/src/ffi compiled?)"
if [ -f "$HEADER" ]; then
    # Function declarations in the header: lowercase identifiers directly followed by '('
    # (callback typedefs are CamelCase, struct fields have no parentheses).
    declared="$(grep -oE '\b(uniffi|ffi)_[a-z0-9_]+\(' "$HEADER" | tr -d '(' | sort -u)"
    missing="$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$defined"))"
    if [ -n "$missing" ]; then
        printf '%s\n' "$missing" | head -20 >&2
        mobile_die "$(wc -l <<<"$missing") functions declared in ClawletFFI.h are not defined in $LIB (bindings out of date? run bindings/generate.sh)"
    fi
    mobile_log "all $(wc -l <<<"$declared") functions of ClawletFFI.h are defined in the iOS staticlib ($uniffi_count uniffi_* symbols)"
else
    mobile_log "$HEADER not generated yet; found $uniffi_count uniffi_* symbols"
fi
grep -qx 'uniffi_clawlet_node_fn_func_version' <<<"$defined" ||
    mobile_die "uniffi_clawlet_node_fn_func_version is not defined in $LIB"
mobile_log "iOS staticlib OK"
