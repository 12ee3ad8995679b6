#!/usr/bin/env bash
# Regenerates the checked-in Swift, Kotlin and Python bindings of `clawlet-node` from the
# compiled library (UniFFI library mode), with the `uniffi-bindgen` of bindings/uniffi-bindgen/
# (the same uniffi release as node-ffi).
#
#   bindings/generate.sh           build, regenerate, write into bindings/{swift,kotlin,python}/
#   bindings/generate.sh --check   build, regenerate into a temp dir, fail if the checked-in files
#                                  differ; then compile the Swift FFI header with the C compiler
#                                  and run a C program that checks it against the library
#
# The output is deterministic: no formatter runs (`--no-format`), nothing depends on paths or
# time, so `--check` can compare byte for byte.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h | --help)
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: bindings/generate.sh [--check]" >&2
    exit 2
    ;;
esac

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$(uname -s)" in
  Darwin) lib="$target_dir/debug/libclawlet_node.dylib" ;;
  *) lib="$target_dir/debug/libclawlet_node.so" ;;
esac
bindgen="$target_dir/debug/uniffi-bindgen"

# The generated files, relative to bindings/. Nothing else under these paths is generated.
generated=(
  swift/Sources/Clawlet/Clawlet.swift
  swift/Sources/ClawletFFI/ClawletFFI.h
  swift/Sources/ClawletFFI/module.modulemap
  kotlin/src/main/kotlin/dev/clawlet/sdk/clawlet.kt
  python/clawlet/clawlet.py
)

# The library with the gateway (test-bindings.sh needs `clawlet` too; the same feature set as
# scripts/interop.sh's build, so neither rebuilds the other's), then the generator on its own
# (its `cli` feature of uniffi must not leak into the library's build).
cargo build --locked --quiet -p clawlet-node -p clawlet-gateway
cargo build --locked --quiet -p clawlet-uniffi-bindgen

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
raw="$work/raw"
stage="$work/stage"

for language in swift kotlin python; do
  # Library mode reads the interface from the library's metadata and node-ffi/uniffi.toml (found
  # through `cargo metadata`).
  "$bindgen" generate --library "$lib" --language "$language" --no-format \
    --out-dir "$raw/$language" >"$work/bindgen-$language.log" 2>&1 || {
    cat "$work/bindgen-$language.log" >&2
    echo "generate.sh: uniffi-bindgen failed for $language" >&2
    exit 1
  }
done

# Lay the output out as it is checked in.
place() { # place <from under $raw> <to under $stage>
  [ -f "$raw/$1" ] || {
    echo "generate.sh: uniffi-bindgen did not produce $1; it produced:" >&2
    (cd "$raw" && find . -type f | sort) >&2
    exit 1
  }
  mkdir -p "$(dirname "$stage/$2")"
  cp "$raw/$1" "$stage/$2"
}
place swift/Clawlet.swift swift/Sources/Clawlet/Clawlet.swift
place swift/ClawletFFI.h swift/Sources/ClawletFFI/ClawletFFI.h
place swift/ClawletFFI.modulemap swift/Sources/ClawletFFI/module.modulemap
place kotlin/dev/clawlet/sdk/clawlet.kt kotlin/src/main/kotlin/dev/clawlet/sdk/clawlet.kt
place python/clawlet.py python/clawlet/clawlet.py

# One fix to uniffi 0.32.2's Python output: when Rust drops an async callback's future (the
# gateway cancelled the invoke, or the result was taken), UniFFI calls back from a Rust thread and
# cancels the asyncio task with `loop.call_soon`, which is not thread-safe (asyncio's debug mode
# raises "Non-thread-safe operation invoked on an event loop other than the current one" and a
# busy-waiting loop may not notice the cancel). `call_soon_threadsafe` is the documented way. The
# line must be found exactly once, so a uniffi upgrade that changes it fails here and is looked at.
py="$stage/python/clawlet/clawlet.py"
bad='    eventloop.call_soon(_uniffi_cancel_task, task)'
if [ "$(grep -cxF "$bad" "$py")" != 1 ]; then
  echo "generate.sh: the Python future-dropped callback changed in this uniffi; re-check the fix in bindings/generate.sh" >&2
  exit 1
fi
sed -i 's/^    eventloop\.call_soon(_uniffi_cancel_task, task)$/    eventloop.call_soon_threadsafe(_uniffi_cancel_task, task)  # clawlet: thread-safe (generate.sh)/' "$py"

# Kotlin: an error field named `message` does not compile (it clashes with Throwable.message);
# node-ffi/uniffi.toml renames them for Kotlin. Catch a new one here with the fix in the message.
if grep -nE '^ +val `message`' "$raw/kotlin/dev/clawlet/sdk/clawlet.kt" >&2; then
  echo "generate.sh: a Kotlin error class has a field named message (above); add it to [bindings.kotlin.rename] in node-ffi/uniffi.toml" >&2
  exit 1
fi

# Nothing unexpected (a new file would otherwise be silently left out).
produced="$(cd "$raw" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')"
expected="kotlin/dev/clawlet/sdk/clawlet.kt python/clawlet.py swift/Clawlet.swift swift/ClawletFFI.h swift/ClawletFFI.modulemap "
if [ "$produced" != "$expected" ]; then
  echo "generate.sh: uniffi-bindgen produced an unexpected set of files: $produced" >&2
  echo "  (expected: $expected); update the list in bindings/generate.sh" >&2
  exit 1
fi

# Determinism: UniFFI writes no paths or dates today; make sure a future version would be caught.
if grep -l -F -e "$root" -e "$work" "${generated[@]/#/$stage/}" >/dev/null 2>&1; then
  echo "generate.sh: generated code contains a local path; it would not be reproducible" >&2
  exit 1
fi

# The C check: the header the Swift FFI module imports must compile on its own, and its
# functions must exist in the library with the checksums Clawlet.swift expects (the check the
# Swift code makes when it loads). Swift itself cannot run on this Linux machine; this is the
# part of it that C can prove.
check_c_header() {
  local header_dir="$1" swift_file="$2"
  local c="$work/check_header.c"
  # clang is what Swift's importer uses, and the header carries clang's nullability qualifiers
  # (`_Nonnull`); gcc only checks the rest, with those defined away.
  local compiler cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -Wno-unused-parameter)
  if command -v clang >/dev/null; then
    compiler=clang
    cflags+=(-Wnullability-completeness -Wno-nullability-extension)
  else
    compiler=cc
    cflags+=(-D_Nonnull= -D_Nullable= -D_Null_unspecified=)
    echo "generate.sh: clang not found; checking ClawletFFI.h with $(cc --version | head -1)" >&2
  fi
  "$compiler" "${cflags[@]}" -fsyntax-only -x c -I "$header_dir" - <<<'#include "ClawletFFI.h"' || {
    echo "generate.sh: ClawletFFI.h does not compile as C" >&2
    return 1
  }
  # The module map Swift imports `ClawletFFI` through: clang loads it as a module.
  if [ "$compiler" = clang ]; then
    printf '#pragma clang module import ClawletFFI\nint main(void) { return (int)ffi_clawlet_node_uniffi_contract_version(); }\n' >"$work/import_module.c"
    clang -fsyntax-only -fmodules -fmodules-cache-path="$work/modules" \
      -fmodule-map-file="$header_dir/module.modulemap" "${cflags[@]}" "$work/import_module.c" || {
      echo "generate.sh: clang cannot import ClawletFFI through module.modulemap" >&2
      return 1
    }
    echo "C: ClawletFFI.h compiles with $(clang --version | head -1), and imports as module ClawletFFI"
  fi
  # Every `checksum() != N` comparison in the Swift bindings, plus the contract version.
  local checks
  checks="$(grep -oE '(uniffi_clawlet_node_checksum_[a-z0-9_]+)\(\) != ([0-9]+)' "$swift_file" |
    sed -E 's/^([a-z0-9_]+)\(\) != ([0-9]+)$/    CHECK(\1, \2);/' | sort -u)"
  local contract
  contract="$(grep -oE 'let bindings_contract_version = [0-9]+' "$swift_file" | grep -oE '[0-9]+$')"
  if [ -z "$checks" ] || [ -z "$contract" ]; then
    echo "generate.sh: found no checksums or contract version in Clawlet.swift" >&2
    return 1
  fi
  {
    cat <<'EOF'
#include <stdio.h>
#include "ClawletFFI.h"

static int failures = 0;
static int checked = 0;
#define CHECK(fn, expected)                                                                    \
    do {                                                                                       \
        unsigned got = (unsigned)fn();                                                         \
        checked++;                                                                             \
        if (got != (unsigned)(expected)) {                                                     \
            fprintf(stderr, "%s() = %u, Clawlet.swift expects %u\n", #fn, got,                 \
                    (unsigned)(expected));                                                     \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

int main(void) {
EOF
    printf '    CHECK(ffi_clawlet_node_uniffi_contract_version, %s);\n' "$contract"
    printf '%s\n' "$checks"
    cat <<'EOF'
    /* A real call through the C ABI: version() returns a RustBuffer holding UTF-8. */
    RustCallStatus status = {0};
    RustBuffer v = uniffi_clawlet_node_fn_func_version(&status);
    if (status.code != 0 || v.len == 0) {
        fprintf(stderr, "version() failed: status %d, len %llu\n", (int)status.code,
                (unsigned long long)v.len);
        failures++;
    }
    /* UniFFI's lowering of a String return is the raw UTF-8 in a RustBuffer. */
    printf("C: version() = %.*s\n", (int)v.len, (const char *)v.data);
    RustCallStatus free_status = {0};
    ffi_clawlet_node_rustbuffer_free(v, &free_status);
    printf("C: %d checksums and the contract version match the library\n", checked - failures);
    return failures == 0 ? 0 : 1;
}
EOF
  } >"$c"
  local lib_dir
  lib_dir="$(dirname "$lib")"
  "$compiler" "${cflags[@]}" -I "$header_dir" "$c" -o "$work/check_header" -L "$lib_dir" -lclawlet_node \
    -Wl,-rpath,"$lib_dir" || {
    echo "generate.sh: the C check of ClawletFFI.h does not compile or link" >&2
    return 1
  }
  "$work/check_header"
}

if [ "$mode" = write ]; then
  for f in "${generated[@]}"; do
    mkdir -p "$(dirname "bindings/$f")"
    cp "$stage/$f" "bindings/$f"
  done
  echo "generate.sh: wrote ${#generated[@]} files under bindings/ (uniffi $("$bindgen" --version 2>/dev/null | awk '{print $2}'))"
  check_c_header bindings/swift/Sources/ClawletFFI bindings/swift/Sources/Clawlet/Clawlet.swift
  exit 0
fi

# --check
stale=0
for f in "${generated[@]}"; do
  if [ ! -f "bindings/$f" ]; then
    echo "generate.sh --check: bindings/$f is missing" >&2
    stale=1
  elif ! cmp -s "$stage/$f" "bindings/$f"; then
    echo "generate.sh --check: bindings/$f differs from what node-ffi generates now:" >&2
    diff -u "bindings/$f" "$stage/$f" --label "bindings/$f (checked in)" \
      --label "bindings/$f (generated)" | head -40 >&2 || true
    stale=1
  fi
done
if [ "$stale" != 0 ]; then
  echo "generate.sh --check: the checked-in bindings are stale: run bindings/generate.sh and commit the result" >&2
  exit 1
fi
echo "generate.sh --check: the ${#generated[@]} checked-in files match the library"
check_c_header "$stage/swift/Sources/ClawletFFI" "$stage/swift/Sources/Clawlet/Clawlet.swift"
