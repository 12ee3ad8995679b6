#!/usr/bin/env bash
# The UniFFI bindings (a step of scripts/test.sh): the checked-in Swift/Kotlin/Python code is
# what node-ffi generates now, the Swift FFI header compiles as C and matches the library, and the
# Python and Kotlin/JVM bindings drive a NodeClient against a real `clawlet gateway run`.
#
#   scripts/test-bindings.sh              everything
#   scripts/test-bindings.sh --only NAME  one of: generate, python, kotlin (comma-separated)
#
# Installs what a fresh Debian machine lacks (as root, or with sudo), cached under
# ~/.cache/clawlet:
# - clang (Debian): checks ClawletFFI.h the way Swift's importer reads it;
# - kotlinc: npm package kotlin-compiler@$KOTLIN_VERSION (the full JVM compiler; its lib/ ships
#   kotlin-stdlib.jar and kotlinx-coroutines-core-jvm.jar, which the generated Kotlin needs for
#   its suspend functions), `npm install --prefix ~/.cache/clawlet/kotlin`, once;
# - JNA (Debian libjna-java: /usr/share/java/jna.jar, with its native part from libjna-jni);
# - Java 17 and Python 3 come with the machine (python3: standard library only).
# The Kotlin test is compiled once per content of its sources (jar cached by hash).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"

KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
cache="${CLAWLET_CACHE:-$HOME/.cache/clawlet}"
kotlin_home="$cache/kotlin/node_modules/kotlin-compiler"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac

only=",generate,python,kotlin,"
case "${1:-}" in
  "") ;;
  --only) only=",${2:?--only needs a name},"; ;;
  *) echo "usage: scripts/test-bindings.sh [--only generate,python,kotlin]" >&2; exit 2 ;;
esac
wants() { [[ "$only" == *",$1,"* ]]; }

started=$(date +%s)
progress() { printf -- '--> bindings: %s (+%ss)\n' "$*" "$(( $(date +%s) - started ))"; }
timed() { # timed <label> <command...>: runs it, prints how long it took
  local label="$1" t0
  shift
  t0=$(date +%s)
  "$@"
  progress "$label took $(( $(date +%s) - t0 ))s"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  echo "test-bindings: installing $* with apt-get" >&2
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

progress "tools"
command -v python3 >/dev/null || apt_install python3
if wants generate; then
  command -v clang >/dev/null || apt_install clang
fi
if wants kotlin; then
  command -v java >/dev/null || apt_install openjdk-17-jdk-headless
  [ -f /usr/share/java/jna.jar ] || apt_install libjna-java
  if [ ! -x "$kotlin_home/bin/kotlinc" ] ||
    ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$kotlin_home/package.json" 2>/dev/null; then
    command -v npm >/dev/null || apt_install npm
    echo "test-bindings: installing kotlin-compiler@$KOTLIN_VERSION from npm into $cache/kotlin" >&2
    mkdir -p "$cache/kotlin"
    [ -f "$cache/kotlin/package.json" ] ||
      echo '{"name":"clawlet-kotlinc","private":true}' >"$cache/kotlin/package.json"
    npm install --prefix "$cache/kotlin" --no-audit --no-fund --loglevel=error \
      "kotlin-compiler@$KOTLIN_VERSION" >&2
  fi
  for jar in kotlin-stdlib.jar kotlinx-coroutines-core-jvm.jar; do
    [ -f "$kotlin_home/lib/$jar" ] || {
      echo "test-bindings: $kotlin_home/lib/$jar is missing from the kotlin-compiler package" >&2
      exit 1
    }
  done
  progress "kotlinc $KOTLIN_VERSION, $(java -version 2>&1 | head -1), JNA $(readlink -f /usr/share/java/jna.jar | grep -oE '[0-9.]+[0-9]')"
fi

# Builds libclawlet_node, clawlet and uniffi-bindgen, regenerates, compares and
# runs the C check of the header. The e2e tests below use the same build.
if wants generate; then
  timed "generate.sh --check" bash bindings/generate.sh --check
else
  cargo build --locked --quiet -p clawlet-node -p clawlet-gateway
fi

export CLAWLET_BIN="$target_dir/debug/clawlet"
export CLAWLET_NODE_LIB="$target_dir/debug/libclawlet_node.so"

if wants python; then
  progress "python e2e ($(python3 --version))"
  PYTHONDONTWRITEBYTECODE=1 timed "python e2e" timeout --kill-after=10 300 python3 bindings/python/tests/test_node_client.py
fi

if wants kotlin; then
  sources=(bindings/kotlin/src/main/kotlin/dev/clawlet/sdk/*.kt bindings/kotlin/tests/NodeClientTest.kt)
  classpath="/usr/share/java/jna.jar:$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
  key="$(cat "${sources[@]}" <(echo "$KOTLIN_VERSION $classpath") | sha256sum | cut -c1-16)"
  jar="$cache/kotlin/build/e2e-$key.jar"
  if [ -f "$jar" ]; then
    progress "kotlin e2e: compiled jar cached ($jar)"
  else
    progress "kotlin e2e: compiling the generated bindings and the test with kotlinc (slow, once)"
    mkdir -p "$cache/kotlin/build"
    rm -f "$cache/kotlin/build"/e2e-*.jar # keep only the current one
    # -nowarn: the generated code has unchecked casts and unused parameters by design.
    timed "kotlinc" "$kotlin_home/bin/kotlinc" -J-Xmx2g -nowarn -jvm-target 17 \
      -cp "$classpath" -d "$jar.tmp.jar" "${sources[@]}"
    mv "$jar.tmp.jar" "$jar"
  fi
  # JNA loads libclawlet_node.so from jna.library.path (Debian's JNA finds its own native part
  # in /usr/lib/<arch>/jni, which is on the JVM's default java.library.path).
  timed "kotlin e2e" timeout --kill-after=10 300 java \
    -Djna.library.path="$(dirname "$CLAWLET_NODE_LIB")" -Dclawlet.bin="$CLAWLET_BIN" \
    -cp "$jar:$kotlin_home/lib/kotlin-stdlib.jar:$classpath" dev.clawlet.e2e.NodeClientTestKt
fi

progress "all bindings checks passed"
