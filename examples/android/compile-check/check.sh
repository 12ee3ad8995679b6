#!/usr/bin/env bash
# Type-checks the Android example (examples/android/app/src/main/kotlin) with kotlinc against
# the real generated bindings (bindings/kotlin/.../clawlet.kt), JNA and kotlinx-coroutines. The
# Android SDK is not available here, so compile-check/stubs/ declares just the Android/AndroidX
# signatures the example calls (bodies throw; nothing is packaged or run). What this proves: the
# example uses the SDK's generated names and types exactly; its Android calls match the stubs,
# which mirror the platform signatures but are not the platform.
#
# Needs: kotlinc (KOTLINC, else `kotlinc` on PATH, else npm kotlin-compiler@2.4.20 under
# ~/.cache/clawlet/kotlin as scripts/test-bindings.sh installs it, installed if missing), a JDK,
# JNA (JNA_JAR, else Debian's libjna-java, installed if missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

kotlinc="${KOTLINC:-}"
cached="${CLAWLET_CACHE:-$HOME/.cache/clawlet}/kotlin"
if [ -z "$kotlinc" ]; then
    if command -v kotlinc >/dev/null 2>&1; then
        kotlinc="$(command -v kotlinc)"
    else
        # The same compiler scripts/test-bindings.sh installs (npm kotlin-compiler, cached).
        if [ ! -x "$cached/node_modules/kotlin-compiler/bin/kotlinc" ]; then
            command -v npm >/dev/null 2>&1 || die "kotlinc not found and no npm to install it: set KOTLINC"
            echo "==> installing kotlin-compiler@${KOTLIN_VERSION:-2.4.20} from npm into $cached"
            mkdir -p "$cached"
            [ -f "$cached/package.json" ] || echo '{"name":"clawlet-kotlinc","private":true}' >"$cached/package.json"
            npm install --prefix "$cached" --no-audit --no-fund --loglevel=error \
                "kotlin-compiler@${KOTLIN_VERSION:-2.4.20}" >&2 || die "npm install kotlin-compiler failed"
        fi
        kotlinc="$cached/node_modules/kotlin-compiler/bin/kotlinc"
    fi
fi
command -v java >/dev/null 2>&1 || die "kotlinc needs a JDK (java not found)"
kotlin_lib="$(cd "$(dirname "$(readlink -f "$kotlinc")")/../lib" && pwd)"
coroutines="${COROUTINES_JAR:-$kotlin_lib/kotlinx-coroutines-core-jvm.jar}"
[ -f "$coroutines" ] || die "kotlinx-coroutines jar not found ($coroutines): set COROUTINES_JAR"

jna="${JNA_JAR:-/usr/share/java/jna.jar}"
if [ ! -f "$jna" ]; then
    command -v apt-get >/dev/null 2>&1 || die "JNA not found: set JNA_JAR"
    echo "==> installing Debian libjna-java (JNA)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjna-java; } >/dev/null || die "apt-get install libjna-java failed"
fi

generated="$root/bindings/kotlin/src/main/kotlin/dev/clawlet/sdk/clawlet.kt"
[ -f "$generated" ] || die "$generated missing: run bindings/generate.sh"
# The SDK as shipped: the generated bindings and the hand-written helpers beside them.
# ClawletAndroid.kt lives in the Android module only (it needs android.content.Context).
mapfile -t sdk < <(find "$(dirname "$generated")" "$root/bindings/android/clawlet/src/main/kotlin" -name '*.kt' | sort)

# Skip when exactly these sources already passed (stamp under target/mobile, like the builds).
stamp_dir="${CLAWLET_MOBILE_TARGET_DIR:-$root/target/mobile}"
hash="$(cat "${sdk[@]}" "$here"/stubs/*.kt $(find "$root/examples/android/app/src/main/kotlin" -name '*.kt' | sort) | sha256sum | cut -c1-16)"
stamp="$stamp_dir/android-example-kotlinc-$hash.ok"
if [ -f "$stamp" ]; then
    echo "==> Android example type-checked before with these exact sources ($stamp)"
    exit 0
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mapfile -t sources < <(find "$root/examples/android/app/src/main/kotlin" -name '*.kt' | sort)
echo "==> kotlinc: ${#sources[@]} example files + generated bindings + $(ls "$here/stubs" | wc -l) stub files"
start=$(date +%s)
"$kotlinc" -nowarn -cp "$jna:$coroutines" -d "$out" "${sdk[@]}" "$here"/stubs/*.kt "${sources[@]}"
mkdir -p "$stamp_dir"
touch "$stamp"
echo "==> Android example type-checks against the generated bindings ($(($(date +%s) - start)) s)"
