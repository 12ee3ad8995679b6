#!/usr/bin/env bash
# Type-checks the Android example (examples/android/app/src/main/kotlin) with kotlinc against
# the real generated bindings (bindings/kotlin/.../clawlet.kt), JNA and kotlinx-coroutines. The
# Android SDK is not available here, so compile-check/stubs/ declares just the Android/AndroidX
# signatures the example calls (bodies throw; nothing is packaged or run). What this proves: the
# example uses the SDK's generated names and types exactly; its Android calls match the stubs,
# which mirror the platform signatures but are not the platform.
#
# Needs: kotlinc (KOTLINC, else `kotlinc` on PATH, else the npm kotlin-compiler under
# ~/.cache/clawlet/kotlin), a JDK, JNA (JNA_JAR, else Debian's libjna-java, installed if missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

kotlinc="${KOTLINC:-}"
if [ -z "$kotlinc" ]; then
    if command -v kotlinc >/dev/null 2>&1; then
        kotlinc="$(command -v kotlinc)"
    elif [ -x "$HOME/.cache/clawlet/kotlin/node_modules/kotlin-compiler/bin/kotlinc" ]; then
        kotlinc="$HOME/.cache/clawlet/kotlin/node_modules/kotlin-compiler/bin/kotlinc"
    else
        die "kotlinc not found: set KOTLINC, or npm install --prefix ~/.cache/clawlet/kotlin kotlin-compiler"
    fi
fi
kotlin_lib="$(cd "$(dirname "$(readlink -f "$kotlinc")")/../lib" && pwd)"
coroutines="${COROUTINES_JAR:-$kotlin_lib/kotlinx-coroutines-core-jvm.jar}"
[ -f "$coroutines" ] || die "kotlinx-coroutines jar not found ($coroutines): set COROUTINES_JAR"

jna="${JNA_JAR:-/usr/share/java/jna.jar}"
if [ ! -f "$jna" ]; then
    command -v apt-get >/dev/null 2>&1 || die "JNA not found: set JNA_JAR"
    echo "==> installing Debian libjna-java (JNA)"
    apt-get install -y -qq libjna-java >/dev/null || die "apt-get install libjna-java failed"
fi

generated="$root/bindings/kotlin/src/main/kotlin/dev/clawlet/sdk/clawlet.kt"
[ -f "$generated" ] || die "$generated missing: run bindings/generate.sh"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mapfile -t sources < <(find "$root/examples/android/app/src/main/kotlin" -name '*.kt' | sort)
echo "==> kotlinc: ${#sources[@]} example files + generated bindings + $(ls "$here/stubs" | wc -l) stub files"
start=$(date +%s)
"$kotlinc" -nowarn -cp "$jna:$coroutines" -d "$out" "$generated" "$here"/stubs/*.kt "${sources[@]}"
echo "==> Android example type-checks against the generated bindings ($(($(date +%s) - start)) s)"
